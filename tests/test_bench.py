"""``pulbench bench speed`` on real frames: the JSON contract and the FLOP count of the
3-scale AlexNet search (16.3 GFLOP, as the issue states for SiamFC)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pul_bench.cli import cli
from pul_bench.errors import PulBenchError
from pul_bench.registry import create


def test_bench_speed_json(otb_sequences: Path) -> None:
    result = CliRunner().invoke(cli, [
        "bench", "speed", "siamfc-random", "--root", str(otb_sequences), "--sequences", "Girl",
        "--frames", "4", "--per-sequence", "4", "--rounds", "1", "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    out = json.loads(result.output)
    assert out["gflop_per_frame"] == pytest.approx(16.3, abs=0.05)
    assert out["frames"] == 3 and out["threads"] >= 1
    assert out["fps"] > 0 and out["eager_fps"] > 0
    assert out["gflops"] == pytest.approx(out["fps"] * out["gflop_per_frame"], rel=0.01)
    assert out["speedup"] == pytest.approx(out["fps"] / out["eager_fps"], rel=0.01)


def test_bench_speed_times_nanotrack_beside_another_tracker(otb_sequences: Path) -> None:
    """An ONNX tracker (no eager variant, no FLOP count) timed with --against on the same
    frames; before --against, bench speed refused every tracker without ``responses``."""
    result = CliRunner().invoke(cli, [
        "bench", "speed", "nanotrack-v1", "--against", "siamfc-random", "--root",
        str(otb_sequences), "--sequences", "Girl", "--frames", "4", "--per-sequence", "4",
        "--rounds", "1", "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    out = json.loads(result.output)
    assert out["frames"] == 3 and out["fps"] > 0 and out["against"]["siamfc-random"] > 0
    assert out["gflop_per_frame"] is None and out["eager_fps"] is None
    assert out["precision"] is None  # NanoTrack runs its ONNX files as they are (fp32)


def test_fp16_on_cpu_is_refused() -> None:
    with pytest.raises(PulBenchError, match="fp16 inference needs a CUDA device"):
        create("siamfc-random", precision="fp16", device="cpu")


def test_bench_frames_are_the_dataset_readers_frames(otb_sequences: Path, tmp_path: Path) -> None:
    """bench speed reads frames through load_otb: David is annotated from image 300 on, so its
    first timed frame is image 0300 with the first box, not the folder's first image."""
    from pul_bench.commands.bench import _frames
    from pul_bench.tracker import read_image

    seq = tmp_path / "David"
    (seq / "img").mkdir(parents=True)
    rows = (otb_sequences / "Crossing" / "groundtruth_rect.txt").read_text().splitlines()[:4]
    (seq / "groundtruth_rect.txt").write_text("\n".join(rows) + "\n")
    for i in range(296, 304):  # four unannotated images before frame 300
        (seq / "img" / f"{i:04d}.jpg").symlink_to(
            otb_sequences / "Crossing" / "img" / f"{i - 295:04d}.jpg")
    ((images, box),) = _frames(tmp_path, None, per_sequence=3, total=10)
    assert len(images) == 3
    np.testing.assert_array_equal(images[0], read_image(seq / "img" / "0300.jpg"))
    first = [float(v) for v in rows[0].replace(",", " ").split()]
    np.testing.assert_array_equal(box, [first[0] - 1, first[1] - 1, first[2], first[3]])
    with pytest.raises(PulBenchError, match="no OTB-layout sequence Nope"):
        _frames(tmp_path, ["Nope"], per_sequence=3, total=10)
