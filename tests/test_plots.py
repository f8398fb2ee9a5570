"""Success/precision/attribute plots of real published OTB2015 results, and `pulbench plot`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from pul_bench.analysis.otb import score
from pul_bench.benchmarks import get_benchmark
from pul_bench.cli import main
from pul_bench.plots import attribute_plot, plot_all, precision_plot, success_plot

OTB2015 = get_benchmark("otb2015")
TRACKERS = ("KCF", "SiamFC-3s_CFNetRelease", "SRDCF")


@pytest.fixture(scope="module")
def scores(otb_reference: Path) -> dict:
    return score(OTB2015, [otb_reference / "results" / t for t in TRACKERS], otb_reference)


def _legend(fig) -> list[str]:  # noqa: ANN001
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_success_legend_sorted_with_published_aucs(scores: dict) -> None:
    fig = success_plot(scores, "t")
    # the published OTB2015 AUCs of these files (data README): SRDCF 0.598, SiamFC 0.582, KCF 0.477
    assert _legend(fig) == ["SRDCF [0.598]", "SiamFC-3s_CFNetRelease [0.582]", "KCF [0.477]"]
    lines = {ln.get_label().split(" [")[0]: ln for ln in fig.axes[0].get_lines()}
    for t in TRACKERS:
        np.testing.assert_array_equal(lines[t].get_ydata(), scores[t]["success_curve"])
        np.testing.assert_allclose(lines[t].get_xdata(), np.arange(21) * 0.05, atol=1e-12)


def test_precision_legend_sorted_by_dp20_and_colours_match(scores: dict) -> None:
    succ, prec = success_plot(scores, "s"), precision_plot(scores, "p")
    ranked = sorted(TRACKERS, key=lambda t: -scores[t]["dp20"])
    assert _legend(prec) == [f"{t} [{scores[t]['dp20']:.3f}]" for t in ranked]
    colour = {ln.get_label().split(" [")[0]: ln.get_color() for ln in succ.axes[0].get_lines()}
    curves = [ln for ln in prec.axes[0].get_lines() if not ln.get_label().startswith("_")]
    assert len(curves) == 3
    for ln in curves:
        assert ln.get_color() == colour[ln.get_label().split(" [")[0]]
        assert len(ln.get_ydata()) == 51


def test_attribute_plot_labels_and_bars(scores: dict) -> None:
    fig = attribute_plot(scores, "a")
    ticks = [t.get_text() for t in fig.axes[1].get_xticklabels()]
    n = {a: v["n"] for a, v in scores["KCF"]["per_attribute"].items()}
    assert ticks[0] == f"IV ({n['IV']})" and f"OCC ({n['OCC']})" in ticks and len(ticks) == 11
    bars = [b for b in fig.axes[0].patches]
    assert len(bars) == 11 * len(TRACKERS)
    heights = sorted(b.get_height() for b in bars)
    expected = sorted(v["auc"] for t in TRACKERS for v in scores[t]["per_attribute"].values())
    np.testing.assert_allclose(heights, expected)


def test_plot_all_writes_png_and_pdf(scores: dict, tmp_path: Path) -> None:
    files = plot_all(scores, tmp_path, "otb2015")
    assert sorted(f.name for f in files) == sorted(
        f"{s}.{e}" for s in ("success", "precision", "attributes") for e in ("png", "pdf"))
    for f in files:
        head = f.read_bytes()[:8]
        assert head.startswith(b"\x89PNG") if f.suffix == ".png" else head.startswith(b"%PDF")
    assert not list(tmp_path.glob(".*.tmp"))


def test_plot_all_draws_the_top_trackers_of_each_score(otb_reference: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """As the OTB toolkit's rankNum: beyond ``top`` trackers each plot keeps the best by its own
    score and its title says so. ATOM leads DaSiamRPN in AUC (0.667 vs 0.658, as published) and
    trails it in DP@20 (0.879 vs 0.881), so each plot keeps a different one."""
    both = score(OTB2015, [otb_reference / "results" / t for t in ("ATOM", "DaSiamRPN")],
                 otb_reference)
    drawn = {}
    monkeypatch.setattr("pul_bench.plots.save",
                        lambda fig, stem: drawn.setdefault(Path(stem).name, fig) and [])
    plot_all(both, tmp_path, "otb2015", top=1)
    assert [x.split(" [")[0] for x in _legend(drawn["success"])] == ["ATOM"]
    assert [x.split(" [")[0] for x in _legend(drawn["precision"])] == ["DaSiamRPN"]
    assert drawn["success"].axes[0].get_title().endswith(", top 1 of 2")


def test_plot_command_compares_on_common_sequences(otb_reference: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    partial = tmp_path / "KCF-partial"
    partial.mkdir()
    for name in ("Basketball", "Biker", "Bird1"):
        shutil.copy(otb_reference / "results" / "KCF" / f"{name}.txt", partial)
    out = tmp_path / "plots"
    main(["plot", "otb2015", str(otb_reference / "results" / "SRDCF"), str(partial),
          "--root", str(otb_reference), "--out", str(out)])
    captured = capsys.readouterr()
    assert "comparing on the 3 they all have" in captured.err
    perf = json.loads((out / "performance.json").read_text())
    assert {t: v["n_sequences"] for t, v in perf.items()} == {"SRDCF": 3, "KCF-partial": 3}
    assert (out / "success.png").is_file() and (out / "precision.pdf").is_file()

    with pytest.raises(SystemExit) as exit_:
        main(["plot", "otb2015", str(partial), str(partial), "--out", str(out)])
    assert exit_.value.code == 2 and "given twice" in capsys.readouterr().err


def test_every_figure_is_drawn_in_plots() -> None:
    """One home for figures: outside plots.py (and overlay.py, the tracking-video renderer)
    no module of either package draws or encodes a picture."""
    drawing = ("matplotlib", "savefig", "cv2.putText", "cv2.rectangle", 'imencode(".png"')
    root = Path(__file__).resolve().parents[1]
    found = [f"{p.relative_to(root)}: {d}"
             for pkg in ("pul_bench", "pul_train") for p in sorted((root / pkg).rglob("*.py"))
             if p.name not in ("plots.py", "overlay.py")
             for d in drawing if d in p.read_text()]
    assert found == []


def test_pair_sheet_lays_out_labelled_cells(tmp_path: Path) -> None:
    from pul_bench.plots import pair_sheet, save_image

    z = np.zeros((127, 127, 3), np.uint8)
    x = np.full((255, 255, 3), 200, np.uint8)
    sheet = pair_sheet([(z, x, "#0"), (z, x, "#1"), (z, x, "#2")], cols=2)
    cell_w, cell_h = 127 * 2 + 4 + 6, 127 + 18 + 6
    assert sheet.shape == (2 * cell_h, 2 * cell_w, 3)
    assert (sheet[cell_h:, cell_w:] == 255).all()  # the fourth cell is blank padding
    assert (sheet[3 + 60, 3 + 127 + 4 + 60] == 200).all()  # the search crop's centre
    assert save_image(sheet, tmp_path / "s.png").stat().st_size > 1000
