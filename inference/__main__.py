"""Command line: python -m inference info | build | bench | embed FILE... | pack DIR"""
from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
from pathlib import Path

from . import config
from .errors import InferenceError

log = logging.getLogger("inference")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


def cmd_info(args: argparse.Namespace) -> int:
    from .backends.registry import available_backends
    from .backends.trt_flavour import flavour_report
    from .engines import cached

    models = config.models_dir(args.models_dir)
    info = {"python": platform.python_version(), "models_dir": str(models.resolve()),
            "backends": available_backends(), "tensorrt_flavours": flavour_report(),
            "settings": config.settings_report(), "cached": cached(models)}
    print(json.dumps(info, indent=2))
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from .engines import build_all

    status = 0
    for artefact in build_all(args.models_dir, tuple(args.precision), args.flavour):
        print(artefact.line(), flush=True)
        if artefact.kind == "skipped" and args.strict:
            status = 1
    return status


def cmd_bench(args: argparse.Namespace) -> int:
    import numpy as np

    from .predictor import Predictor
    from .specs import IMAGE, TEXT, random_inputs
    from .timing import HEADER, measure

    predictor = Predictor(backend=args.backend, models_dir=args.models_dir)
    rng = np.random.default_rng()
    print(HEADER)
    for spec, seq in ((IMAGE, 0), (TEXT, 256)):
        backend = predictor.backend(spec)
        for batch in args.batches:
            if batch > backend.max_batch:
                continue
            inputs = random_inputs(spec, batch, rng, seq=seq or 48)
            if spec is TEXT:
                inputs["attention_mask"][:] = 1
            print(measure(f"{backend.name} {spec.name}", batch, lambda: backend.infer(inputs),
                          min_seconds=args.seconds).row(), flush=True)
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    from .predictor import Predictor

    predictor = Predictor(backend=args.backend, models_dir=args.models_dir)
    status = 0
    for name in args.files:
        path = Path(name)
        try:
            if path.suffix.lower() in IMAGE_SUFFIXES:
                features, descriptors, logits = predictor.embed_images([path])
                record = {"file": name, "kind": "image", "concepts": predictor.concepts(logits, args.top)[0],
                          "features": features[0].round(5).tolist() if args.vectors else features.shape[1:]}
            else:
                vec = predictor.embed_texts([path.read_bytes()])
                record = {"file": name, "kind": "text", "embedding": vec[0].round(5).tolist() if args.vectors
                          else vec.shape[1:]}
        except (InferenceError, OSError) as exc:
            record, status = {"file": name, "error": f"{type(exc).__name__}: {exc}"}, 1
        print(json.dumps(record))
    return status


def cmd_pack(args: argparse.Namespace) -> int:
    from .weights import pack

    print(pack(Path(args.dest), half=not args.fp32))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m inference", description=__doc__)
    p.add_argument("--models-dir", default=None,
                   help=f"default: ${config.ENV_MODELS_DIR}, else ${config.ENV_DATA_DIR}/models, else ./data/models "
                        "in the checkout")
    p.add_argument("--backend", default=None, help="tensorrt | torch-cuda | onnxruntime | auto")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="versions, backends that can load, cached files").set_defaults(fn=cmd_info)
    bd = sub.add_parser("build", help="export ONNX, build TensorRT engines and compile GPU packages ahead of time")
    bd.add_argument("--precision", nargs="+", choices=("fp16", "fp32"), default=["fp16"])
    bd.add_argument("--flavour", default=None, help="tensorrt | tensorrt-rtx (default: the first that loads)")
    bd.add_argument("--strict", action="store_true", help="exit 1 if anything could not be built here")
    bd.set_defaults(fn=cmd_build)
    b = sub.add_parser("bench", help="quick throughput of the chosen backend")
    b.add_argument("--batches", type=int, nargs="+", default=[1, 32, 256])
    b.add_argument("--seconds", type=float, default=2.0)
    b.set_defaults(fn=cmd_bench)
    e = sub.add_parser("embed", help="embed image or text files, one JSON line each")
    e.add_argument("files", nargs="+")
    e.add_argument("--top", type=int, default=5)
    e.add_argument("--vectors", action="store_true", help="print full vectors")
    e.set_defaults(fn=cmd_embed)
    k = sub.add_parser("pack", help="write the weights into a folder for LINKSHOT_WEIGHTS_DIR")
    k.add_argument("dest")
    k.add_argument("--fp32", action="store_true")
    k.set_defaults(fn=cmd_pack)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.fn(args)
    except InferenceError as exc:
        log.error("%s: %s", type(exc).__name__, exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
