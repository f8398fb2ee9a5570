"""The SiamFC procedure: exact crop geometry, scale and translation recovery, optimised inference
equal to the plain network, and Siamese trackers run through ``pulbench eval`` on real frames."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from torch import nn

from pul_bench.checkpoint import save_checkpoint
from pul_bench.cli import cli
from pul_bench.errors import InputError, PulBenchError
from pul_bench.geometry import crop_batch, crop_pyramid, crop_square
from pul_bench.io import read_table
from pul_bench.models.siamese import SiamFCNet, build_backbone
from pul_bench.registry import all_specs, create, get_spec
from pul_bench.tracker import read_image

SIAMESE = [n for n, s in all_specs().items()
           if s.factory == "pul_bench.trackers.siamfc:SiamFCTracker"]


# --- crop geometry -----------------------------------------------------------------------------

@pytest.mark.parametrize("center,size,out", [((80.0, 40.0), 60.0, 255), ((75.3, 52.9), 131.7, 127),
                                             ((10.0, 90.0), 300.0, 255)])
def test_crop_puts_a_box_exactly_where_the_map_says(center, size, out) -> None:
    """The drawn box's mass and centroid in the crop are where the crop map
    u = (X - cx) * out / size + out / 2 (pul_bench.geometry) puts the box."""
    image = np.zeros((100, 150, 3), np.uint8)
    box = np.array([60.0, 30.0, 40.0, 20.0])
    image[30:50, 60:100] = 255
    crop = crop_square(image, center, size, out, (0, 0, 0))[..., 0].astype(np.float64) / 255
    k = out / size
    cx, cy = (box[:2] + box[2:] / 2 - np.array(center)) * k + out / 2
    ys, xs = np.mgrid[0:out, 0:out] + 0.5
    mass = crop.sum()
    assert mass == pytest.approx(box[2] * box[3] * k * k, rel=2e-3)
    assert (crop * xs).sum() / mass == pytest.approx(cx, abs=0.02)
    assert (crop * ys).sum() / mass == pytest.approx(cy, abs=0.02)


def test_crop_pads_with_the_fill_colour_and_batched_crop_agrees(otb_sequences: Path) -> None:
    image = read_image(sorted((otb_sequences / "Girl" / "img").glob("*.jpg"))[0])
    fill = image.reshape(-1, 3).mean(axis=0)
    centers = [(10.0, 12.0), (64.5, 48.0)]
    sizes = [90.0, 40.0]
    ref = np.stack([crop_square(image, c, s, 63, fill)
                    for c, s in zip(centers, sizes, strict=True)])
    assert np.abs(ref[0, 0, 0].astype(float) - fill).max() <= 0.5  # outside the frame
    t = torch.from_numpy(image).permute(2, 0, 1).float()[None].expand(2, -1, -1, -1)
    got = crop_batch(t, torch.tensor(centers), torch.tensor(sizes), 63,
                     torch.from_numpy(fill)[None].expand(2, -1))
    diff = np.abs(got.permute(0, 2, 3, 1).numpy() - ref.astype(np.float32))
    assert diff.mean() < 0.5 and diff.max() < 4  # OpenCV interpolates in fixed point
    pyr = crop_pyramid(image, centers[1], sizes, 63, fill)
    assert pyr.shape == (2, 63, 63, 3) and np.array_equal(pyr[1], ref[1])


# --- the procedure on a synthetic pair ---------------------------------------------------------

class PatchMatcher(nn.Module):
    """Stride-8 features whose correlation peaks exactly where the content is identical:
    high-passed 15x15 patches under a fixed random projection, L2-normalised per location, so
    the response is a sum of cosines and an exact match reaches its maximum."""

    total_stride = 8

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("w", torch.randn(64, 3, 15, 15,
                                              generator=torch.Generator().manual_seed(0)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x - F.avg_pool2d(x, 9, 1, 4, count_include_pad=False)
        return F.normalize(F.conv2d(x, self.w.to(x.dtype), stride=8), dim=1)


CENTER = np.array([240.0, 180.0])


def _texture() -> np.ndarray:
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.uniform(0, 255, (360, 480, 3)).astype(np.float32), (0, 0), 3)
    return cv2.normalize(base, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


def _zoom(image: np.ndarray, f: float, shift: tuple[float, float]) -> np.ndarray:
    """The frame scaled by ``f`` about CENTER, then shifted (continuous coordinates)."""
    m = np.array([[f, 0, (1 - f) * CENTER[0] + shift[0]], [0, f, (1 - f) * CENTER[1] + shift[1]]])
    m[:, 2] += m[:, :2] @ [0.5, 0.5] - 0.5  # coordinates -> OpenCV pixel indices
    return cv2.warpAffine(image, m, image.shape[1::-1], flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("f", [1.1, 1 / 1.1, 1.0])
@pytest.mark.parametrize("shift", [(0.0, 0.0), (9.0, -6.0), (-20.5, 13.25)])
def test_scale_search_recovers_a_known_scale_change(f: float, shift: tuple[float, float]) -> None:
    tracker = create("siamfc-random", scale_step=1.1, scale_lr=1.0, scale_penalty=1.0,
                     window_influence=0.0)
    tracker.net = SiamFCNet(PatchMatcher(), head_scale=1.0).eval()
    image = _texture()
    box = np.array([CENTER[0] - 30, CENTER[1] - 20, 60, 40])
    tracker.init(image, box)
    got = tracker.update(_zoom(image, f, shift))
    np.testing.assert_allclose(got[2:], [60 * f, 40 * f], rtol=1e-9)
    want_center = CENTER + shift
    # the peak is found on a grid of half a search-image pixel, blurred by bicubic upsampling
    np.testing.assert_allclose(got[:2] + got[2:] / 2, want_center, atol=2.5)


def test_scale_damping_penalty_and_clamp() -> None:
    """scale_lr damps the size change; the search size never leaves size_clamp."""
    tracker = create("siamfc-random", scale_step=1.1, scale_lr=0.5, scale_penalty=1.0,
                     window_influence=0.0, size_clamp=[0.2, 1.05])
    tracker.net = SiamFCNet(PatchMatcher(), head_scale=1.0).eval()
    image = _texture()
    tracker.init(image, [CENTER[0] - 30, CENTER[1] - 20, 60, 40])
    x0 = tracker.x_sz
    got = tracker.update(_zoom(image, 1.1, (0.0, 0.0)))
    np.testing.assert_allclose(got[2:], [60 * 1.05, 40 * 1.05], rtol=1e-9)
    assert tracker.x_sz == pytest.approx(1.05 * x0)
    got = tracker.update(_zoom(image, 1.21, (0.0, 0.0)))
    assert tracker.x_sz == pytest.approx(1.05 * x0)  # clamped, while the box keeps growing
    assert got[2] > 60 * 1.05


def test_per_benchmark_values_come_from_the_spec() -> None:
    spec = get_spec("respul")
    assert spec.args["per_benchmark"]["otb2015"] == {
        "scale_step": 1.1897, "scale_lr": 0.2226, "scale_penalty": 0.9370,
        "window_influence": 0.2897}
    tracker = create("siamdw-random")
    assert tracker.window_influence == 0.35 and tracker.scale_step == 1.0375
    assert tracker.set_benchmark("OTB2015")
    assert (tracker.scale_step, tracker.scale_lr, tracker.scale_penalty,
            tracker.window_influence) == (1.1897, 0.2226, 0.9370, 0.2897)
    assert not tracker.set_benchmark("lasot")


@pytest.mark.slow
def test_specs_hold_the_published_hyper_parameters() -> None:
    for name in SIAMESE:
        a = get_spec(name).args
        assert (a["context"], a["exemplar_size"], a["instance_size"], a["scale_num"],
                a["response_up"], a["size_clamp"]) == (0.5, 127, 255, 3, 16, [0.2, 5.0]), name
        if a["backbone"] == "alexnet":
            assert (a["head_scale"], a["window_influence"]) == (0.001, 0.176), name
        else:
            assert (a["head_scale"], a["window_influence"]) == (0.1, 0.35), name
        assert (a["scale_step"], a["scale_penalty"], a["scale_lr"]) == (1.0375, 0.9745, 0.59)
        spec = get_spec(name)
        if not name.endswith("-random"):
            assert spec.checkpoint is not None and spec.train.startswith("pul_train "), name


# --- inference paths on real frames ------------------------------------------------------------

def _real(otb_sequences: Path, name: str, n: int) -> tuple[list[np.ndarray], np.ndarray]:
    seq = otb_sequences / name
    box = read_table(seq / "groundtruth_rect.txt", 4)[0].copy()
    box[:2] -= 1
    return [read_image(f) for f in sorted((seq / "img").glob("*.jpg"))[:n]], box


@pytest.mark.parametrize("name", ["siamfc-random", "siamdw-random"])
def test_optimised_fp32_equals_eager_and_bf16_is_close(otb_sequences: Path, name: str) -> None:
    images, box = _real(otb_sequences, "Crossing", 2)
    out = {}
    for key, kw in {"eager": {"optimize": False}, "fp32": {"precision": "fp32"},
                    "bf16": {"precision": "bf16"}}.items():
        tracker = create(name, **kw)
        tracker.init(images[0], box)
        out[key] = tracker.responses(images[1])
    ref = out["eager"]
    scale = np.abs(ref).max()
    assert np.abs(out["fp32"] - ref).max() < 1e-4 * scale
    corr = np.corrcoef(out["bf16"].ravel(), ref.ravel())[0, 1]
    assert corr > 0.99, corr


# --- through pulbench eval ---------------------------------------------------------------------

def _short_root(otb_sequences: Path, root: Path, names: list[str], n: int) -> Path:
    """The first ``n`` real frames of each sequence in an OTB folder (links, not copies)."""
    for name in names:
        seq = root / name
        (seq / "img").mkdir(parents=True)
        for f in sorted((otb_sequences / name / "img").glob("*.jpg"))[:n]:
            (seq / "img" / f.name).symlink_to(f)
        lines = (otb_sequences / name / "groundtruth_rect.txt").read_text().splitlines()[:n]
        (seq / "groundtruth_rect.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def short_otb(otb_sequences: Path, tmp_path: Path) -> Path:
    """12 real frames of Crossing: fast enough for every test run."""
    return _short_root(otb_sequences, tmp_path / "otb", ["Crossing"], 12)


def _eval(*args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(cli, ["eval", "otb", *args], catch_exceptions=True)
    return result.exit_code, result.stdout, result.exception


@pytest.mark.slow
def test_random_and_checkpoint_trackers_run_through_eval(short_otb: Path, tmp_path: Path) -> None:
    """siamfc-random runs; the same seeded weights saved as a checkpoint and loaded into the
    'siamfc' spec give identical boxes, so the checkpoint path loads exactly."""
    code, out, exc = _eval("siamfc-random", "--root", str(short_otb), "--out",
                           str(tmp_path / "runs"), "--json")
    assert code == 0, (out, exc)
    random_boxes = tmp_path / "runs" / "results" / "otb" / "siamfc-random" / "Crossing.txt"
    rows = read_table(random_boxes, 4)
    assert rows.shape == (12, 4) and np.all(np.isfinite(rows))
    assert '"auc"' in out

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        weights = build_backbone("alexnet").state_dict()
    ckpt = tmp_path / "seed0.pt"
    save_checkpoint(ckpt, weights, {"architecture": "alexnet", "recipe": "seeded random",
                                    "data": "none"})
    code, out, exc = _eval("siamfc", "--checkpoint", str(ckpt), "--root", str(short_otb),
                           "--out", str(tmp_path / "runs"))
    assert code == 0, (out, exc)
    ckpt_boxes = tmp_path / "runs" / "results" / "otb" / "siamfc" / "Crossing.txt"
    np.testing.assert_array_equal(read_table(ckpt_boxes, 4), rows)


def test_missing_and_wrong_checkpoints_are_clear_errors(short_otb: Path, tmp_path: Path,
                                                        untrained_spec) -> None:
    untrained_spec("alexpul-untrained", "alexnet",
                   "pul_train tc --config pul_train/recipes/alexpul-tcl20.yaml")
    code, _, exc = _eval("alexpul-untrained", "--root", str(short_otb),
                         "--out", str(tmp_path / "a"))
    assert isinstance(exc, PulBenchError)
    assert "pul_train tc --config pul_train/recipes/alexpul-tcl20.yaml" in str(exc)

    wrong = tmp_path / "res.pt"
    save_checkpoint(wrong, build_backbone("ciresnet22").state_dict(),
                    {"architecture": "ciresnet22"})
    with pytest.raises(InputError, match=r"res\.pt: checkpoint is for 'ciresnet22'"):
        create("alexpul", checkpoint=wrong)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(wrong.read_bytes()[:1000])
    with pytest.raises(InputError, match="corrupt.pt"):
        create("respul", checkpoint=corrupt)


def test_init_file_initialises_the_backbone(tmp_path: Path) -> None:
    torch.manual_seed(5)
    src = build_backbone("ciresnet22").state_dict()
    init = tmp_path / "imagenet.pth"
    torch.save({f"features.{k}": v for k, v in src.items()}, init)
    tracker = create("siamdw-random", init=init, optimize=False)
    got = tracker.net.backbone.state_dict()
    assert torch.equal(got["layer1.0.conv2.weight"], src["layer1.0.conv2.weight"])


@pytest.mark.slow
def test_reference_checkpoint_tracks_real_frames(otb_sequences: Path, tmp_path: Path) -> None:
    """A committed trained checkpoint, loaded by its spec, follows real targets through eval
    (random weights of the same network drift off at once: AUC about 0.06 on these frames)."""
    root = _short_root(otb_sequences, tmp_path / "otb", ["Crossing", "Girl"], 15)
    code, out, exc = _eval("alexpul-bd", "--root", str(root), "--out", str(tmp_path / "runs"),
                           "--json")
    assert code == 0, (out, exc)
    scores = json.loads(out)["alexpul-bd"]
    assert scores["n_sequences"] == 2
    assert scores["auc"] > 0.5, scores["per_sequence"]


def test_auto_precision_prefers_bf16_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """fp16 overflows (65504) where an untrained AlexNet's correlations go on real frames (seen
    on an H200), so ``auto`` on CUDA is bf16 wherever the GPU has it."""
    from pul_bench.trackers.siamfc import auto_precision

    assert auto_precision("cpu") == "fp32"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert auto_precision("cuda") == auto_precision("cuda:0") == "bf16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert auto_precision("cuda") == "fp16"
