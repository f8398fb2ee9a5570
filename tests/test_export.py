"""ONNX export: the exported backbone in onnxruntime matches PyTorch on the same real crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from pul_bench.cli import cli
from pul_bench.errors import PulBenchError
from pul_bench.geometry import crop_pyramid, crop_square
from pul_bench.registry import create
from pul_bench.tracker import read_image

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")


@pytest.mark.parametrize("name", ["siamfc-random", "siamdw-random"])
def test_exported_backbone_matches_pytorch(name: str, otb_sequences: Path,
                                           tmp_path: Path) -> None:
    out = tmp_path / f"{name}.onnx"
    result = CliRunner().invoke(cli, ["export", name, "--onnx", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["weights_sha256"] == "random" and meta["tracker"] == name

    image = read_image(sorted((otb_sequences / "Diving" / "img").glob("*.jpg"))[0])
    fill = image.reshape(-1, 3).mean(axis=0)
    center = (image.shape[1] / 2, image.shape[0] / 2)
    z = crop_square(image, center, 100.0, 127, fill)[None]
    x = crop_pyramid(image, center, [190.0, 200.0, 210.0], 255, fill)
    tracker = create(name, optimize=False, precision="fp32")
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for crops in (z, x):
        inp = np.ascontiguousarray(crops.transpose(0, 3, 1, 2)).astype(np.float32)
        got = session.run(None, {"image": inp})[0]
        with torch.inference_mode():
            want = tracker.net.embed(torch.from_numpy(inp)).numpy()
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


def test_export_of_an_untrained_tracker_names_the_training_command(tmp_path: Path,
                                                                   untrained_spec) -> None:
    untrained_spec("respul-untrained", "ciresnet22",
                   "pul_train tc --config pul_train/recipes/respul-tcl20.yaml")
    result = CliRunner().invoke(cli, ["export", "respul-untrained", "--onnx",
                                      str(tmp_path / "r.onnx")])
    assert isinstance(result.exception, PulBenchError)
    assert "pul_train tc --config pul_train/recipes/respul-tcl20.yaml" in str(result.exception)
    assert not (tmp_path / "r.onnx").exists()
