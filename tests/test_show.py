"""`pulbench show` (issue 24 item 4): videos, GIFs and contact sheets of trackers' boxes on real
shared frames, the IoU strip's failure marks, --frames and the one-line errors. Each test draws
at most a few dozen frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image
from test_hostile import cut_vot

from pul_bench.benchmarks import get_benchmark
from pul_bench.cli import main
from pul_bench.commands.show import frame_range, load_scene
from pul_bench.datasets.otb import read_boxes
from pul_bench.errors import PulBenchError
from pul_bench.geometry import box_to_polygon, polygon_to_box
from pul_bench.metrics.vot import FAILURE, INIT, REGION, SKIP
from pul_bench.overlay import (
    CURSOR,
    SKIPPED,
    STRIP_BACKGROUND,
    VideoLayout,
    column_spans,
    contact_sheet,
    draw_regions,
    read_frame,
    rgb,
    strip_raster,
)
from pul_bench.overlay import FAILURE as FAILURE_RGB
from pul_bench.plots import COLORS, save
from pul_bench.results import (
    format_otb_boxes,
    vot_run_path,
    vot_sequence_dir,
    write_got10k_run,
    write_vot_run,
)

CROSSING = 120  # frames


def show(argv: list[str]) -> int:
    try:
        main(["show", *argv])
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def otb_result(folder: Path, name: str, boxes: np.ndarray) -> Path:
    """A tracker folder holding one OTB-format file of 0-based ``boxes``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_text(format_otb_boxes(boxes))
    return folder


@pytest.fixture
def atom(otb_reference: Path) -> Path:
    return otb_reference / "results" / "ATOM"


def test_mp4_has_one_frame_per_selected_frame(atom: Path, otb_sequences: Path,
                                              tmp_path: Path) -> None:
    out = tmp_path / "crossing.mp4"
    assert show(["otb", "Crossing", str(atom), "--root", str(otb_sequences), "--frames", "1:30",
                 "--out", str(out)]) == 0
    video = cv2.VideoCapture(str(out))
    frames = []
    while True:
        ok, frame = video.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == 30
    # Crossing is 360 x 240: enlarged twice, plus legend and strip
    assert frames[0].shape[1] == 720 and frames[0].shape[0] > 480


def test_gif_frames_follow_the_frames_option(atom: Path, otb_sequences: Path,
                                             tmp_path: Path) -> None:
    out = tmp_path / "crossing.gif"
    assert show(["otb", "Crossing", str(atom), "--frames", "111:", "--out", str(out)]) == 0
    with Image.open(out) as gif:
        assert gif.n_frames == CROSSING - 110


def test_result_longer_than_the_frames_present_is_shown_on_them(
        atom: Path, otb_sequences: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # the shared Human3 holds the first 199 of the 1,698 frames ATOM's published file covers
    out = tmp_path / "human3.gif"
    assert show(["otb2015", "Human3", str(atom), "--frames", "197:", "--out", str(out)]) == 0
    assert "1698 rows for the 199 frames of Human3" in capsys.readouterr().err
    with Image.open(out) as gif:
        assert gif.n_frames == 3


def test_vot_result_longer_or_shorter_than_the_frames_present(
        vot_sequences: Path, vot2018_reference: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture) -> None:
    root = cut_vot(vot_sequences, tmp_path / "vot", names=("bag",), n=20)
    published = vot2018_reference / "results" / "DaSiamRPN"
    scene = load_scene(get_benchmark("vot2018"), "bag", [published], root)
    assert "196 rows for the 20 frames of bag" in capsys.readouterr().err
    assert len(scene.tracks[0].iou) == 20 and np.all(scene.tracks[0].iou[1:] > 0.4)
    short = tmp_path / "results" / "Short"
    status = np.full(12, REGION)
    status[0] = INIT
    write_vot_run(vot_run_path(vot_sequence_dir(short, "bag"), "bag", 1), status,
                  polygon_to_box(scene.groundtruth[:12]), np.zeros(12))
    track = load_scene(get_benchmark("vot2018"), "bag", [short], root).tracks[0]
    assert "frames 13..20 have no region" in capsys.readouterr().err
    # the bounds of bag's rotated polygons overlap them by about 0.5-0.8
    assert np.all(track.iou[1:12] > 0.4) and np.isnan(track.iou[12:]).all()
    assert not track.skipped.any() and not track.failures.any()


def test_frames_option_is_one_based_and_inclusive() -> None:
    assert frame_range("11:35", 120) == (10, 35)
    assert frame_range("100:", 120) == (99, 120)
    assert frame_range(":7", 120) == (0, 7)
    assert frame_range(None, 120) == (0, 120)
    assert frame_range("5:5", 120) == (4, 5)
    for bad in ("0:5", "9:3", "1:121", "a:b", "7", "1-5"):
        with pytest.raises(PulBenchError, match="--frames"):
            frame_range(bad, 120)


def test_box_drawn_in_its_colour_on_a_real_frame(otb_sequences: Path) -> None:
    image = read_frame(otb_sequences / "Crossing" / "img" / "0001.jpg")
    box = np.array([[100.0, 50.0, 60.0, 80.0]])
    gt = box_to_polygon(np.array([[200.0, 100.0, 40.0, 40.0]]))[0]
    drawn = draw_regions(image, gt, [box_to_polygon(box)[0], np.full(8, np.nan)],
                         COLORS[:2], width=2)
    red = rgb(COLORS[0])
    assert np.all(drawn[55:125, 100] == red)  # left edge
    assert np.all(drawn[55:125, 160] == red)  # right edge
    assert np.all(drawn[50, 105:155] == red)  # top edge
    assert np.all(drawn[130, 105:155] == red)  # bottom edge
    assert np.array_equal(drawn[60:120, 105:155], image[60:120, 105:155])  # inside untouched
    assert np.all(drawn[105:135, 200] == 255)  # ground truth: white ...
    assert np.all(drawn[105:135, 198] == 0)  # ... with a black outline
    # the NaN region (second tracker) leaves no trace
    assert not np.all(drawn == rgb(COLORS[1]), axis=-1).any()


def test_boxes_far_outside_the_frame_draw_nothing_in_it(otb_sequences: Path) -> None:
    image = read_frame(otb_sequences / "Crossing" / "img" / "0001.jpg")
    far = box_to_polygon(np.array([[1e30, 5.0, 10.0, 10.0], [-1e9, -1e9, 10.0, 10.0]]))
    assert np.array_equal(draw_regions(image, None, list(far), COLORS[:2]), image)
    # a huge box from inside the frame: its left and top edges show where they are
    huge = box_to_polygon(np.array([[50.0, 40.0, 1e12, 1e12]]))[0]
    drawn = draw_regions(image, None, [huge], COLORS[:1], width=2)
    assert np.all(drawn[45:200, 50] == rgb(COLORS[0])) and np.all(drawn[40, 55:300] ==
                                                                    rgb(COLORS[0]))
    assert np.array_equal(drawn[45:, 52:], image[45:, 52:])


def test_video_frame_shows_a_known_box_where_it_is(otb_sequences: Path, tmp_path: Path) -> None:
    boxes = np.tile([150.0, 60.0, 40.0, 70.0], (CROSSING, 1))
    folder = otb_result(tmp_path / "fixed", "Crossing", boxes)
    scene = load_scene(get_benchmark("otb"), "Crossing", [folder], otb_sequences)
    image = read_frame(scene.frames[4])
    layout = VideoLayout(scene, 0, 10, image.shape)
    frame = layout.render(4, image)
    s, top = layout.scale, layout.image_top
    blue = np.all(frame == rgb(COLORS[0]), axis=-1)[top:top + image.shape[0] * s]
    rows, cols = np.nonzero(blue)
    # the outline's outer pixels: the scaled box, give or take the line's half width
    assert abs(cols.min() - 150 * s) <= 2 and abs(cols.max() - 190 * s) <= 2
    assert abs(rows.min() - 60 * s) <= 2 and abs(rows.max() - 130 * s) <= 2


def test_video_cursor_is_centred_on_its_frame(atom: Path, otb_sequences: Path) -> None:
    scene = load_scene(get_benchmark("otb"), "Crossing", [atom], otb_sequences)
    image = read_frame(scene.frames[0])
    layout = VideoLayout(scene, 0, 3, image.shape)  # 3 frames: each a third of the strip
    strip_top = layout.image_top + image.shape[0] * layout.scale
    for k in range(3):
        frame = layout.render(k, image)
        marker = np.all(frame[strip_top:strip_top + 3] == CURSOR, axis=-1)
        centre = np.flatnonzero(marker.any(axis=0)).mean() - layout.label_w
        assert abs(centre - (k + 0.5) * layout.strip_w / 3) <= 2


def test_strip_marks_a_vot_failure_and_the_reinitialisation(vot_sequences: Path,
                                                            tmp_path: Path) -> None:
    root = cut_vot(vot_sequences, tmp_path / "vot", names=("ball1",), n=30)
    scene0 = load_scene(get_benchmark("vot"), "ball1", [], root)
    status = np.full(30, REGION)
    status[[0, 15]] = INIT
    status[10] = FAILURE
    status[11:15] = SKIP
    boxes = polygon_to_box(scene0.groundtruth)
    boxes[:, 0] += boxes[:, 2] / 4  # overlap below 1, so the bar's top shows
    tracker = tmp_path / "results" / "Failing"
    write_vot_run(vot_run_path(vot_sequence_dir(tracker, "ball1"), "ball1", 1), status,
                  boxes, np.zeros(30))
    scene = load_scene(get_benchmark("vot"), "ball1", [tracker], root)
    track = scene.tracks[0]
    assert track.name == "Failing"
    assert np.flatnonzero(track.failures).tolist() == [10]
    assert np.flatnonzero(track.skipped).tolist() == [11, 12, 13, 14, 15]
    assert np.isnan(track.polygons[10]).all()
    strip = strip_raster(scene.tracks, COLORS[:1], 0, 30, 30 * 4, 12)
    assert strip.shape == (12, 120, 3)
    assert np.all(strip[:, 40:44] == FAILURE_RGB)  # frame 11 (index 10): the failure
    assert np.all(strip[:, 44:64] == SKIPPED)  # frames 12..16: until re-initialised
    # a tracked frame: a bar as high as its IoU in the tracker's colour, background above
    assert 0.5 < track.iou[5] < 1
    bar = round(track.iou[5] * 12)
    assert np.all(strip[12 - bar:, 20:24] == rgb(COLORS[0]))
    assert np.all(strip[:12 - bar, 20:24] == STRIP_BACKGROUND)
    # a strip wider than the frames gives each frame its columns, the failure 4 of 120
    first, end = column_spans(30, 120)
    assert first[40:44].tolist() == [10] * 4 and end[40:44].tolist() == [11] * 4
    first, end = column_spans(30, 7)  # ... a narrower one several frames a column, all of them
    assert first.tolist() == [0, 4, 8, 12, 17, 21, 25] and end[:-1].tolist() == first[1:].tolist()
    assert end[-1] == 30
    # a strip narrower than the frames still shows the one-frame failure
    narrow = strip_raster(scene.tracks, COLORS[:1], 0, 30, 7, 12)
    assert (narrow == FAILURE_RGB).all(axis=-1).all(axis=0).sum() == 1
    # and the command draws it
    out = tmp_path / "ball1.png"
    assert show(["vot", "ball1", str(tracker), "--root", str(root), "--out", str(out)]) == 0
    assert Image.open(out).size[0] > 1000


def test_one_pass_failures_are_iou_zero_frames(otb_sequences: Path, tmp_path: Path) -> None:
    gt = read_boxes(otb_sequences / "Crossing" / "groundtruth_rect.txt")
    gt[:, :2] -= 1
    boxes = gt.copy()
    boxes[40:50] = [1.0, 1.0, 5.0, 5.0]  # far from the walker
    boxes[60] = np.nan
    folder = otb_result(tmp_path / "drifting", "Crossing", boxes)
    track = load_scene(get_benchmark("otb"), "Crossing", [folder], otb_sequences).tracks[0]
    assert np.flatnonzero(track.failures).tolist() == [*range(40, 50), 60]
    assert np.allclose(track.iou[:40], 1.0)
    strip = strip_raster([track], COLORS[:1], 30, 70, 40, 10)
    assert np.all(strip[:, 10:20] == FAILURE_RGB) and np.all(strip[:, 30] == FAILURE_RGB)
    assert not (strip[:, :10] == FAILURE_RGB).all(axis=-1).any()


def test_contact_sheet_of_two_trackers(atom: Path, otb_sequences: Path, otb_reference: Path,
                                       tmp_path: Path) -> None:
    out = tmp_path / "sheet.pdf"
    kcf = otb_reference / "results" / "KCF"
    assert show(["otb2015", "Girl", str(atom), str(kcf), "--root", str(otb_sequences),
                 "--sheet", "4", "--out", str(out)]) == 0
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF") and not out.with_suffix(".png").exists()
    assert b"/FontFile2" in pdf and b"/Type3" not in pdf  # TrueType, as publishers require


def test_sheet_legend_of_many_trackers_fits_the_page(otb_reference: Path,
                                                     otb_sequences: Path) -> None:
    dirs = sorted((otb_reference / "results").iterdir())
    assert len(dirs) >= 9
    scene = load_scene(get_benchmark("otb2015"), "Girl", dirs, otb_sequences)
    fig = contact_sheet(scene, 0, 30, 3)
    FigureCanvasAgg(fig).draw()
    box = fig.legends[0].get_window_extent()
    assert 0 <= box.x0 and box.x1 <= fig.bbox.width
    # read line by line, left to right, the entries come in the order given
    texts = fig.legends[0].get_texts()
    places = [t.get_window_extent() for t in texts]
    assert len({round(b.y0) for b in places}) >= 2  # more than one line
    reading = sorted(zip(places, texts, strict=True), key=lambda p: (-round(p[0].y0), p[0].x0))
    assert [t.get_text() for _, t in reading] == ["ground truth", *(d.name for d in dirs)]
    # the legend sits above the frames, which sit above the strip
    frames_top = max(ax.get_position().y1 for ax in fig.axes[:-1])
    assert box.y0 >= frames_top * fig.bbox.height - 1
    assert fig.axes[-1].get_position().y1 < min(ax.get_position().y0 for ax in fig.axes[:-1])


def test_save_writes_only_the_format_asked_in_full_colour(tmp_path: Path) -> None:
    fig = Figure(figsize=(1, 1), dpi=50)
    fig.add_subplot().imshow(np.random.default_rng(0).integers(0, 255, (40, 40, 3), np.uint8))
    written = save(fig, tmp_path / "a.sheet.png", formats=("png",), palette=False)
    assert written == [tmp_path / "a.sheet.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.sheet.png"]
    assert Image.open(written[0]).mode == "RGB"
    assert Image.open(save(fig, tmp_path / "b", formats=("png",))[0]).mode == "P"


@pytest.mark.parametrize("case", ["unknown sequence", "no result for it", "bad frames",
                                  "frames past the end", "unknown suffix", "no images",
                                  "one tracker twice", "no image folder"])
def test_errors_are_one_line_exit_2(case: str, atom: Path, otb_sequences: Path,
                                    otb_reference: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture) -> None:
    kcf_crossing = otb_result(tmp_path / "kcf", "Crossing",
                              np.tile([1.0, 1.0, 5.0, 5.0], (CROSSING, 1)))
    out = str(tmp_path / "x.mp4")
    (tmp_path / "bare" / "Crossing").mkdir(parents=True)  # ground truth, no img/
    (tmp_path / "bare" / "Crossing" / "groundtruth_rect.txt").write_text(
        (otb_sequences / "Crossing" / "groundtruth_rect.txt").read_text())
    argv, says = {
        "unknown sequence": (["otb", "Crossingg", str(atom)], "no sequence 'Crossingg'"),
        "no result for it": (["otb", "Girl", str(kcf_crossing)], "kcf: no result file for Girl"),
        "bad frames": (["otb", "Crossing", str(atom), "--frames", "9:3"], "--frames '9:3'"),
        "frames past the end": (["otb", "Crossing", str(atom), "--frames", "1:121"],
                                "1 <= A <= B <= 120"),
        "unknown suffix": (["otb", "Crossing", str(atom), "--out", "x.avi"],
                           "unknown output type '.avi'"),
        "no images": (["otb2015", "Crossing", str(atom), "--root", str(otb_reference)],
                      "no images of Crossing"),
        "one tracker twice": (["otb", "Crossing", str(atom), str(atom)], "ATOM given twice"),
        "no image folder": (["otb", "Crossing", str(atom), "--root", str(tmp_path / "bare")],
                            "bare/Crossing/img: no images for sequence Crossing"),
    }[case]
    if "--out" not in argv:
        argv += ["--out", out]
    if "--root" not in argv:
        argv += ["--root", str(otb_sequences)]
    assert show(argv) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and not Path(out).exists()


def _linked_frames(src: Path, dst: Path, n: int, name: str = "{:08d}.jpg") -> None:
    dst.mkdir(parents=True)
    for i in range(1, n + 1):
        (dst / name.format(i)).symlink_to(src / f"{i:04d}.jpg")


def test_lasot_and_got10k_layouts(otb_sequences: Path, tmp_path: Path) -> None:
    """Crossing's first 20 frames laid out as a LaSOT and a GOT-10k sequence, each with a
    result in that benchmark's format: the one-pass readers place both where they belong."""
    n = 20
    gt_text = (otb_sequences / "Crossing" / "groundtruth_rect.txt").read_text()
    gt = read_boxes(otb_sequences / "Crossing" / "groundtruth_rect.txt")[:n]
    images = otb_sequences / "Crossing" / "img"
    # LaSOT: <class>/<class>-<n>/img, 1-based boxes; frames 5-6 flagged out of view
    lasot = tmp_path / "lasot" / "airplane" / "airplane-1"
    _linked_frames(images, lasot / "img", n)
    (lasot / "groundtruth.txt").write_text("".join(gt_text.splitlines(True)[:n]))
    (lasot / "full_occlusion.txt").write_text(",".join("0" * n))
    (lasot / "out_of_view.txt").write_text(",".join("0000110" + "0" * (n - 7)))
    lasot_result = otb_result(tmp_path / "lasot-results" / "Same", "airplane-1",
                              gt - [1, 1, 0, 0])
    scene = load_scene(get_benchmark("lasot"), "airplane-1", [lasot_result], tmp_path / "lasot")
    assert len(scene) == n and scene.frames[0].name == "00000001.jpg"
    iou = scene.tracks[0].iou
    assert np.isnan(iou[[4, 5]]).all() and np.allclose(np.delete(iou, [4, 5]), 1.0)
    assert not scene.tracks[0].failures.any()
    # GOT-10k val: <seq>/00000001.jpg, meta_info.ini; results <seq>/<seq>_001.txt
    name = "GOT-10k_Val_000001"
    got = tmp_path / "got10k" / "val"
    _linked_frames(images, got / name, n)
    (got / "list.txt").write_text(name + "\n")
    (got / name / "groundtruth.txt").write_text(
        "".join(f"{x},{y},{w},{h}\n" for x, y, w, h in gt))
    (got / name / "meta_info.ini").write_text("[METAINFO]\nresolution: (360, 240)\n")
    shifted = gt.copy()
    shifted[10:, 0] += 1000  # lost from frame 11 on
    write_got10k_run(tmp_path / "got-results" / "Lost" / name, name, 1, shifted, np.zeros(n))
    scene = load_scene(get_benchmark("got10k-val"), name, [tmp_path / "got-results" / "Lost"],
                       got)
    assert scene.tracks[0].name == "Lost"
    assert np.flatnonzero(scene.tracks[0].failures).tolist() == list(range(10, n))
    out = tmp_path / "got.gif"
    assert show(["got10k-val", name, str(tmp_path / "got-results" / "Lost"), "--root",
                 str(got), "--frames", "15:", "--out", str(out)]) == 0
    with Image.open(out) as gif:
        assert gif.n_frames == n - 14
