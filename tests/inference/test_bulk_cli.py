"""Bulk screenshot path (CPU decoding) and the command line."""
import io
import json

import numpy as np
from PIL import Image

from inference.__main__ import main
from inference.config import VARIABLES
from inference.bulk import embed_stored_screenshots
from tests.inference.conftest import encode


def test_bulk_matches_embed_images_and_reports_bad_files(predictor, page_png, tmp_path):
    page = Image.open(io.BytesIO(page_png)).convert("RGB")
    files = []
    for i, (data, suffix) in enumerate([(page_png, "png"), (encode(page, "JPEG", quality=85), "jpg"),
                                        (b"not an image", "png"), (encode(page.resize((640, 400))), "png")]):
        files.append(tmp_path / f"{i}.{suffix}")
        files[-1].write_bytes(data)
    result = embed_stored_screenshots(files, predictor=predictor, batch_size=2, workers=2)
    assert result.indices == [0, 1, 3]
    assert set(result.failures) == {2} and "not a readable image" in result.failures[2]
    features, descriptors, _ = predictor.embed_images([files[i] for i in result.indices])
    assert np.allclose(result.features, features, atol=1e-5)
    assert np.allclose(result.descriptors, descriptors, atol=1e-5)


def test_cli_embed_and_info(models_dir, tmp_path, page_png, capsys):
    image = tmp_path / "page.png"
    image.write_bytes(page_png)
    text = tmp_path / "page.txt"
    text.write_text("Django documentation: models and databases")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"")
    status = main(["--models-dir", str(models_dir), "--backend", "onnxruntime", "embed", str(image), str(text), str(bad)])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 1  # one bad file
    assert lines[0]["kind"] == "image" and lines[0]["concepts"][0][0] == "web site"
    assert lines[1]["kind"] == "text" and lines[1]["embedding"] == [384]
    assert "InvalidImage" in lines[2]["error"]
    assert main(["--models-dir", str(models_dir), "info"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["backends"]["onnxruntime"] == "ok" and any(c["file"].endswith(".onnx") for c in info["cached"]["onnx"])
    assert set(info["settings"]) == {variable.name for variable in VARIABLES}
