"""The package's environment variables: each honoured where it is used, each bad value an error
naming the variable, all read in inference/config.py only (CPU; the bulk decoder on a GPU)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from inference import config, weights
from inference.backends.registry import _CLASSES, normalise_name
from inference.backends.tensorrt_backend import TensorRTBackend
from inference.backends.torch_cuda import COMPILE_MODES, TorchCudaBackend, compile_choice
from inference.backends.trt_flavour import Flavour, load_flavour, rtx_targets
from inference.config import BatchProfile, ConfigError
from inference.errors import BackendError, BackendUnavailable
from inference.specs import IMAGE, TEXT

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "inference"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """Every test starts from the defaults, whatever the machine running it exports."""
    for variable in config.VARIABLES:
        monkeypatch.delenv(variable.name, raising=False)


def torch_backend(spec=IMAGE, **options) -> TorchCudaBackend:
    return TorchCudaBackend(spec, None, BatchProfile(), None, **options)


def trt_backend(**options) -> TensorRTBackend:
    return TensorRTBackend(IMAGE, None, BatchProfile(), None, **options)


def test_models_dir_from_env_then_data_dir_then_checkout(monkeypatch, tmp_path):
    from inference import Predictor

    assert config.models_dir() == ROOT / "data" / "models"  # where the Django settings put it too
    monkeypatch.setenv("LINKSHOT_DATA_DIR", str(tmp_path / "data"))
    assert Predictor().settings.models_dir == tmp_path / "data" / "models"
    monkeypatch.setenv("LINKSHOT_MODELS_DIR", str(tmp_path / "models"))
    assert Predictor().settings.models_dir == tmp_path / "models"
    assert Predictor(models_dir=tmp_path / "given").settings.models_dir == tmp_path / "given"
    monkeypatch.setenv("LINKSHOT_MODELS_DIR", "~/linkshot-models")
    assert config.models_dir() == Path.home() / "linkshot-models"


def test_weights_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("LINKSHOT_WEIGHTS_DIR", str(tmp_path))
    assert weights.image_weights() == tmp_path / weights.IMAGE_FILE
    assert weights.text_model_dir() == tmp_path / weights.TEXT_DIR
    monkeypatch.setenv("LINKSHOT_WEIGHTS_DIR", "  ")
    assert weights.packed_dir() is None


def test_inference_backend(monkeypatch):
    assert normalise_name(None) is None
    monkeypatch.setenv("LINKSHOT_INFERENCE_BACKEND", " CPU ")
    assert normalise_name(None) == "onnxruntime"
    assert normalise_name("torch") == "torch-cuda"  # an argument wins
    monkeypatch.setenv("LINKSHOT_INFERENCE_BACKEND", "tpu")
    with pytest.raises(ConfigError, match=r"LINKSHOT_INFERENCE_BACKEND='tpu'.*tensorrt, torch-cuda, onnxruntime"):
        normalise_name(None)
    with pytest.raises(BackendUnavailable, match="unknown backend 'tpu'"):
        normalise_name("tpu")


def test_inference_backend_error_reaches_the_predictor_caller(monkeypatch):
    from inference import InferenceError, Predictor

    monkeypatch.setenv("LINKSHOT_INFERENCE_BACKEND", "gpu")
    with pytest.raises(InferenceError, match="LINKSHOT_INFERENCE_BACKEND='gpu'"):
        Predictor().embed_texts(["a page"])


def test_trt_flavour(monkeypatch):
    for wanted, other in (("tensorrt", "tensorrt-rtx"), ("tensorrt-rtx", "tensorrt")):
        monkeypatch.setenv("LINKSHOT_TRT_FLAVOUR", wanted.upper().replace("-", "_"))
        try:
            assert load_flavour().name == wanted
        except BackendUnavailable as exc:  # not installed here: only the one asked for was tried
            assert f"{wanted}:" in str(exc) and f"{other}:" not in str(exc)
    monkeypatch.setenv("LINKSHOT_TRT_FLAVOUR", "tensorrt-9")
    with pytest.raises(ConfigError, match=r"LINKSHOT_TRT_FLAVOUR='tensorrt-9'.*tensorrt, tensorrt-rtx or auto"):
        load_flavour()


def test_trt_rtx_targets(monkeypatch):
    rtx = Flavour("tensorrt-rtx", None, "tensorrt_rtx_bindings", "1.7.1.116")
    assert rtx_targets() == config.RTX_DEFAULT_TARGETS and rtx.supports((8, 6))
    monkeypatch.setenv("LINKSHOT_TRT_RTX_TARGETS", "12.0, 8.9")
    assert rtx_targets() == ((8, 9), (12, 0)) and not rtx.supports((8, 6))
    monkeypatch.setenv("LINKSHOT_TRT_RTX_TARGETS", "8.x")
    with pytest.raises(ConfigError, match=r"LINKSHOT_TRT_RTX_TARGETS='8.x'.*compute capabilities"):
        rtx.supports((8, 9))


@pytest.mark.parametrize("value, precision", [("1", "fp32"), ("true", "fp32"), ("Yes", "fp32"), ("on", "fp32"),
                                              ("0", "fp16"), ("false", "fp16"), ("no", "fp16"), ("OFF", "fp16")])
def test_trt_fp32_words(monkeypatch, value, precision):
    monkeypatch.setenv("LINKSHOT_TRT_FP32", value)
    assert trt_backend().precision == precision


def test_trt_fp32_default_argument_and_bad_value(monkeypatch):
    assert trt_backend().precision == "fp16"
    monkeypatch.setenv("LINKSHOT_TRT_FP32", "true")
    assert trt_backend(fp16=True).precision == "fp16"  # an argument wins
    monkeypatch.setenv("LINKSHOT_TRT_FP32", "fp32")
    with pytest.raises(ConfigError, match=r"LINKSHOT_TRT_FP32='fp32'.*true/false"):
        trt_backend()


@pytest.mark.parametrize("variable, option, attribute", [
    ("LINKSHOT_CUDNN_BENCHMARK", "cudnn_benchmark", "cudnn_benchmark"),
    ("LINKSHOT_CUDA_GRAPHS", "graphs", "graphs_enabled"),
])
def test_torch_switches_from_env_unless_an_argument_says(monkeypatch, variable, option, attribute):
    assert getattr(torch_backend(), attribute) is True
    monkeypatch.setenv(variable, "off")
    assert getattr(torch_backend(), attribute) is False
    assert getattr(torch_backend(**{option: True}), attribute) is True
    monkeypatch.setenv(variable, "sometimes")
    with pytest.raises(ConfigError, match=rf"{variable}='sometimes'.*true/false"):
        torch_backend()


def test_how_a_thread_waits_for_the_gpu(monkeypatch):
    from inference.backends.cuda_wait import set_wait

    assert torch_backend().cuda_wait == "auto"
    monkeypatch.setenv("LINKSHOT_CUDA_WAIT", "Block")
    assert torch_backend().cuda_wait == "block"
    monkeypatch.setenv("LINKSHOT_CUDA_WAIT", "nap")
    with pytest.raises(ConfigError, match=r"LINKSHOT_CUDA_WAIT='nap' is not valid: expected auto, block"):
        torch_backend()
    assert set_wait("auto", library="libcuda-missing.so.1") is None  # nothing to set
    assert "the CUDA driver did not load" in set_wait("block", library="libcuda-missing.so.1")


def test_torch_compile(monkeypatch):
    assert torch_backend(IMAGE).compile_kind == "jit" and torch_backend(TEXT).compile_kind == "off"  # defaults
    monkeypatch.setenv("LINKSHOT_TORCH_COMPILE", "image=aot, text=jit")
    assert torch_backend(IMAGE).compile_kind == "aot" and torch_backend(TEXT).compile_kind == "jit"
    assert compile_choice(None, "head") == "off"  # not named: the model's default
    assert torch_backend(IMAGE, compile=False).compile_kind == "off"  # an argument wins
    monkeypatch.setenv("LINKSHOT_TORCH_COMPILE", "TRUE")
    assert torch_backend(TEXT).compile_kind == "jit"
    for bad in ("sometimes", "image=aot,text=sometimes", "imgae=aot"):
        monkeypatch.setenv("LINKSHOT_TORCH_COMPILE", bad)
        with pytest.raises(ConfigError, match=rf"LINKSHOT_TORCH_COMPILE='{bad}'.*off, aot, jit"):
            torch_backend(IMAGE)
    with pytest.raises(BackendError, match="aot, jit or off"):  # a bad argument stays a backend error
        compile_choice("image=sometimes", "image")


@pytest.mark.parametrize("variable, attribute, default, other, option", [
    ("LINKSHOT_TORCH_COMPILE_MODE", "compile_mode", "library-autotune", "max-autotune-no-cudagraphs",
     "compile_mode"),
    ("LINKSHOT_TORCH_AOT_SHAPES", "aot_shapes", "dynamic", "static", "aot_shapes"),
    ("LINKSHOT_TORCH_DEPTHWISE", "depthwise", "cudnn", "taps", "depthwise"),
])
def test_torch_choices(monkeypatch, variable, attribute, default, other, option):
    assert getattr(torch_backend(), attribute) == default
    monkeypatch.setenv(variable, other)
    assert getattr(torch_backend(), attribute) == other
    assert getattr(torch_backend(**{option: default}), attribute) == default  # an argument wins
    monkeypatch.setenv(variable, "fastest")
    with pytest.raises(ConfigError, match=rf"{variable}='fastest' is not valid: expected .*{default}"):
        torch_backend()


def test_compile_mode_names_match_the_backend():
    assert set(config.TORCH_COMPILE_MODES) == set(COMPILE_MODES)
    assert set(config.BACKEND_NAMES) == set(_CLASSES)
    from inference.backends.cuda_wait import FLAGS
    assert set(config.CUDA_WAITS) == set(FLAGS)


def _ort_backend(tmp_path: Path):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from inference.backends.ort_backend import OnnxRuntimeBackend

    graph = helper.make_graph([helper.make_node("Add", ["x", "one"], ["y"])], "add_one",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])],
                              [numpy_helper.from_array(np.ones(1, np.float32), "one")])
    path = tmp_path / "add_one.onnx"
    # IR 8, opset 17's own: every onnxruntime reads it, whatever version the installed onnx writes by default.
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return OnnxRuntimeBackend(IMAGE, path, BatchProfile(), tmp_path)


def test_ort_threads(monkeypatch, tmp_path):
    monkeypatch.setenv("LINKSHOT_ORT_THREADS", "3")
    backend = _ort_backend(tmp_path)
    backend.load()
    assert backend.session.get_session_options().intra_op_num_threads == 3
    for bad in ("abc", "-1", "2.5"):
        monkeypatch.setenv("LINKSHOT_ORT_THREADS", bad)
        with pytest.raises(ConfigError, match=rf"LINKSHOT_ORT_THREADS='{bad}'.*integer >= 0"):
            _ort_backend(tmp_path).load()


def test_bulk_cpu_share_reader(monkeypatch):
    assert config.bulk_cpu_share() == 0.0
    monkeypatch.setenv("LINKSHOT_BULK_CPU_SHARE", "0.25")
    assert config.bulk_cpu_share() == 0.25
    for bad in ("half", "1.5", "-0.1", "nan"):
        monkeypatch.setenv("LINKSHOT_BULK_CPU_SHARE", bad)
        with pytest.raises(ConfigError, match=rf"LINKSHOT_BULK_CPU_SHARE='{bad}'.*0 to 1"):
            config.bulk_cpu_share()


@pytest.mark.gpu
def test_bulk_cpu_share_reaches_the_decoder(monkeypatch):
    from inference.bulk_gpu import GpuDecoder

    monkeypatch.setenv("LINKSHOT_BULK_CPU_SHARE", "0.25")
    assert GpuDecoder(config.Limits()).cpu_share == 0.25
    assert GpuDecoder(config.Limits(), cpu_share=0.5).cpu_share == 0.5  # an argument wins
    monkeypatch.setenv("LINKSHOT_BULK_CPU_SHARE", "most")
    with pytest.raises(ConfigError, match="LINKSHOT_BULK_CPU_SHARE='most'"):
        GpuDecoder(config.Limits())


def test_environment_is_read_in_config_only():
    readers = re.compile(r"os\.environ|os\.getenv|getenv\(")
    offenders = [str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py")
                 if p.name != "config.py" or p.parent != PACKAGE
                 if readers.search(p.read_text())]
    assert offenders == []
    named = set(re.findall(r"LINKSHOT_[A-Z0-9_]+", (PACKAGE / "config.py").read_text()))
    assert named == {v.name for v in config.VARIABLES}


def test_readme_lists_every_variable():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("### Inference configuration"):]
    table = table[:table.index("\n\n", table.index("|"))]
    assert {v.name for v in config.VARIABLES} == set(re.findall(r"`(LINKSHOT_[A-Z0-9_]+)`", table))


def test_importing_config_loads_no_runtime():
    code = ("import sys, inference, inference.config; "
            "print([m for m in ('torch', 'onnxruntime', 'tensorrt', 'django') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_cudnn_benchmark_limit_from_env_applies_to_the_modules_calls_only(monkeypatch):
    import torch

    assert torch_backend().cudnn_benchmark_limit == 3
    monkeypatch.setenv("LINKSHOT_CUDNN_BENCHMARK_LIMIT", "5")
    backend = torch_backend()
    backend.torch = torch  # set by load(), which needs a GPU
    before = torch.backends.cudnn.benchmark, torch.backends.cudnn.benchmark_limit
    with backend._cudnn():
        assert torch.backends.cudnn.benchmark is True and torch.backends.cudnn.benchmark_limit == 5
    assert (torch.backends.cudnn.benchmark, torch.backends.cudnn.benchmark_limit) == before
    for bad in ("-1", "few"):
        monkeypatch.setenv("LINKSHOT_CUDNN_BENCHMARK_LIMIT", bad)
        with pytest.raises(ConfigError, match=rf"LINKSHOT_CUDNN_BENCHMARK_LIMIT='{bad}'.*integer >= 0"):
            torch_backend()


def test_settings_report_shows_each_variable_as_set_or_its_default(monkeypatch):
    monkeypatch.setenv("LINKSHOT_TORCH_COMPILE_MODE", " library-autotune-frozen ")
    report = config.settings_report()
    assert list(report) == [variable.name for variable in config.VARIABLES]
    assert report["LINKSHOT_TORCH_COMPILE_MODE"] == "library-autotune-frozen"
    assert report["LINKSHOT_CUDNN_BENCHMARK_LIMIT"] == "3 (default)"
