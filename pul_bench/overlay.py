"""Pictures of what trackers do: the ground truth and each tracker's region drawn on the frames,
with a legend, the frame number and a per-frame IoU strip that marks failures.

Three outputs share one drawing model (:class:`Scene`):

* a video (``.mp4``, OpenCV's ``mp4v`` MPEG-4 encoder, the one the wheel's FFmpeg has offline;
  H.264 ``avc1`` is not built in) or an animated ``.gif`` (Pillow): each frame is a legend bar,
  the image with its regions, and the IoU strip of the whole range with a cursor on this frame;
* a contact sheet (``.png`` or ``.pdf``, matplotlib) of a few frames for a paper, the same
  strip under them with the shown frames marked on it.

Regions are polygons in 0-based continuous image coordinates (pixel (i, j) covers
[j, j+1) x [i, i+1)), as :mod:`pul_bench.geometry` uses them; colours are the project's one
palette (:data:`pul_bench.plots.COLORS`), one per tracker in the order given, and the ground
truth is white with a black outline so it shows on any background.

The strip has a row per tracker. A frame's bar height is its IoU with the ground truth, in the
tracker's colour; black marks a failure (one-pass: IoU 0; VOT reset protocol: the frame the
result file reports as ``2``) and grey the frames the tracker skipped until its
re-initialisation (VOT ``0`` lines and the ``1`` that re-initialises).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from matplotlib import font_manager, patheffects, rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon
from matplotlib.textpath import TextPath
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import offset_copy
from PIL import Image, ImageDraw, ImageFont

from pul_bench.errors import PulBenchError
from pul_bench.io import atomic_path
from pul_bench.plots import COLORS, save

GROUND_TRUTH = "ground truth"
WHITE, BLACK = (255, 255, 255), (0, 0, 0)
#: Strip colours: empty row, failure, skipped until re-initialisation; the video's cursor is
#: a dark marker above the strip and a white line through it (no tracker's colour).
STRIP_BACKGROUND = (236, 236, 236)
FAILURE = (0, 0, 0)
SKIPPED = (160, 160, 160)
CURSOR = (64, 64, 64)
VIDEO_SUFFIXES = (".mp4", ".gif")
#: Narrower frames are enlarged by a whole factor in videos, so legend and strip stay legible.
MIN_VIDEO_WIDTH = 640
SHEET_SUFFIXES = (".png", ".pdf")
#: The FourCC written into .mp4 files: MPEG-4 Part 2, which opencv-python's FFmpeg encodes
#: without any system library (``avc1``/H.264 fails to open there).
FOURCC = "mp4v"


@dataclass
class Track:
    """One tracker's run on the scene's frames: ``polygons`` (N, 8), NaN where it reported no
    region; ``iou`` (N,), NaN where no overlap is defined (skipped frames, unannotated ground
    truth); ``failures`` and ``skipped`` (N,) bool, as the strip marks them."""

    name: str
    polygons: np.ndarray
    iou: np.ndarray
    failures: np.ndarray
    skipped: np.ndarray


@dataclass
class Scene:
    """A sequence's frames, ground-truth polygons (N, 8; NaN where unannotated) and tracks;
    ``failure_rule`` says in words what the strip's black marks mean for this benchmark."""

    sequence: str
    frames: list[Path]
    groundtruth: np.ndarray
    tracks: list[Track]
    failure_rule: str

    def __len__(self) -> int:
        return len(self.frames)

    def color(self, k: int) -> str:
        """Tracker ``k``'s colour: the palette in the order the trackers were given."""
        return COLORS[k % len(COLORS)]


def rgb(color: str) -> tuple[int, int, int]:
    """``#rrggbb`` as 0-255 integers."""
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (shipped with matplotlib, so no system font is needed) at ``size`` px."""
    return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size)


def read_frame(path: Path) -> np.ndarray:
    """An image as RGB uint8 (grey OTB frames become three equal channels)."""
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except OSError:
        raise PulBenchError(f"{path}: cannot read image (corrupt or not an image)") from None


# ---- one frame ---------------------------------------------------------------------------------


def line_width(image_shape: Sequence[int]) -> int:
    """Region outline width in pixels: 2 on a 360 x 240 frame, growing with the frame."""
    return max(2, round(min(image_shape[:2]) / 160))


def draw_regions(image: np.ndarray, groundtruth: np.ndarray | None,
                 regions: Sequence[np.ndarray], colors: Sequence[str],
                 width: int | None = None) -> np.ndarray:
    """A copy of ``image`` with the ground-truth polygon (white on black) and each region
    (8-value polygons, NaN = none) outlined in its colour, the first tracker on top."""
    width = width or line_width(image.shape)
    im = Image.fromarray(np.ascontiguousarray(image))
    draw = ImageDraw.Draw(im)
    # Pillow's integer coordinates wrap around far from the frame (a box at x = 1e30 drew
    # inside it); clipping far out keeps every edge that shows where it is
    far = 4.0 * max(image.shape[:2])

    def outline(poly: np.ndarray, color: tuple[int, int, int], w: int) -> None:
        if poly is None or not np.all(np.isfinite(poly)):
            return
        corners = np.clip(np.asarray(poly, dtype=np.float64).reshape(4, 2), -far, far)
        points = [(float(x), float(y)) for x, y in corners]
        draw.line([*points, points[0]], fill=color, width=w, joint="curve")

    if groundtruth is not None:
        outline(groundtruth, BLACK, width + 2)
        outline(groundtruth, WHITE, width)
    for poly, color in reversed(list(zip(regions, colors, strict=True))):
        outline(poly, rgb(color), width)
    return np.asarray(im)


def _text_width(text: str, font: ImageFont.FreeTypeFont) -> int:
    return math.ceil(font.getlength(text))


def legend_bar(width: int, names: Sequence[str], colors: Sequence[str], font_px: int,
               reserve: int = 0) -> np.ndarray:
    """A white bar ``width`` wide with one entry per name (a short line in its colour, the name),
    wrapped onto more lines as needed; ``reserve`` pixels on the right stay free (the frame
    number)."""
    font = _font(font_px)
    pad, sample = font_px // 2, 2 * font_px
    entries = [(GROUND_TRUTH, None), *zip(names, colors, strict=True)]
    lines: list[list[tuple[str, str | None, int]]] = [[]]
    x = pad
    for name, color in entries:
        w = sample + pad + _text_width(name, font) + 2 * pad
        if lines[-1] and x + w > width - reserve:
            lines.append([])
            x = pad
        lines[-1].append((name, color, x))
        x += w
    line_h = round(font_px * 1.5)
    bar = Image.new("RGB", (width, line_h * len(lines) + pad), WHITE)
    draw = ImageDraw.Draw(bar)
    lw = max(2, font_px // 5)
    for row, entries_in_line in enumerate(lines):
        cy = pad // 2 + row * line_h + line_h // 2
        for name, color, x0 in entries_in_line:
            if color is None:  # the ground truth's white-on-black outline
                draw.line([(x0, cy), (x0 + sample, cy)], fill=BLACK, width=lw + 2)
                draw.line([(x0 + 1, cy), (x0 + sample - 1, cy)], fill=WHITE, width=lw)
            else:
                draw.line([(x0, cy), (x0 + sample, cy)], fill=rgb(color), width=lw)
            draw.text((x0 + sample + pad, cy), name, fill=BLACK, font=font, anchor="lm")
    return np.asarray(bar)


# ---- the IoU strip -----------------------------------------------------------------------------


def column_spans(n: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The frames ``first[c] <= i < end[c]`` (of ``0..n-1``) each of ``width`` columns shows:
    one frame over several columns, or several frames in one column, so that a failure on
    any frame shows however many frames share a column (``np.ufunc.reduceat`` over ``first``
    reduces exactly these spans)."""
    first = np.minimum((np.arange(width) * n) // width, n - 1)
    end = np.maximum(np.append(first[1:], n), first + 1)
    return first, end


def strip_raster(tracks: Sequence[Track], colors: Sequence[str], start: int, stop: int,
                 width: int, row_height: int) -> np.ndarray:
    """(rows, width, 3) uint8 image of frames ``start..stop-1``: a row per track, 1-pixel white
    gaps between rows. A column shows the frames it covers: the mean IoU as a bar from the
    bottom, black if any of them is a failure, grey if any is skipped."""
    n = stop - start
    if n <= 0 or width <= 0:
        raise PulBenchError("the IoU strip needs at least one frame and one column")
    first, _ = column_spans(n, width)
    out = np.full(((row_height + 1) * len(tracks), width, 3), 255, np.uint8)
    heights = np.arange(row_height)[::-1, None]  # pixel row -> height above the row's bottom
    for k, (track, color) in enumerate(zip(tracks, colors, strict=True)):
        iou = track.iou[start:stop]
        seen = np.isfinite(iou)
        sums = np.add.reduceat(np.where(seen, iou, 0.0), first)
        counts = np.add.reduceat(seen.astype(int), first)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(counts > 0, sums / counts, 0.0)
        failed = np.maximum.reduceat(track.failures[start:stop], first)
        skipped = np.maximum.reduceat(track.skipped[start:stop], first)
        row = np.empty((row_height, width, 3), np.uint8)
        row[:] = STRIP_BACKGROUND
        bar = heights < np.round(np.clip(mean, 0, 1) * row_height)[None, :]
        row[bar] = rgb(color)
        row[:, skipped] = SKIPPED
        row[:, failed] = FAILURE
        top = k * (row_height + 1)
        out[top:top + row_height] = row
    return out[:-1] if len(tracks) else out


# ---- video -------------------------------------------------------------------------------------


class VideoLayout:
    """The fixed parts of every video frame: legend bar on top, the image (enlarged ``scale``
    times, from row ``image_top``), the labelled IoU strip under it."""

    def __init__(self, scene: Scene, start: int, stop: int, shape: tuple[int, ...]) -> None:
        self.scene, self.start, self.stop = scene, start, stop
        self.scale = max(1, math.ceil(MIN_VIDEO_WIDTH / shape[1]))
        h, w = shape[0] * self.scale, shape[1] * self.scale
        self.width = w + (w % 2)  # MPEG-4 wants even sizes
        self.font_px = max(11, round(self.width / 36))
        names = [t.name for t in scene.tracks]
        colors = [scene.color(k) for k in range(len(names))]
        font = _font(self.font_px)
        self.frame_text = f"frame {stop} / {len(scene)}"
        reserve = _text_width(self.frame_text, font) + self.font_px
        self.legend = legend_bar(self.width, names, colors, self.font_px, reserve)
        self.label_w = max([_text_width(n, font) for n in names] + [0]) + self.font_px
        self.strip_w = self.width - self.label_w - self.font_px // 2
        row_h = max(6, self.font_px)
        raster = strip_raster(scene.tracks, colors, start, stop, self.strip_w, row_h)
        self.marker_h = max(4, self.font_px // 2)
        strip = Image.new("RGB", (self.width, raster.shape[0] + self.marker_h + 2), WHITE)
        strip.paste(Image.fromarray(raster), (self.label_w, self.marker_h + 1))
        draw = ImageDraw.Draw(strip)
        for k, name in enumerate(names):
            cy = self.marker_h + 1 + k * (row_h + 1) + row_h // 2
            draw.text((self.label_w - self.font_px // 3, cy), name, fill=rgb(colors[k]),
                      font=_font(max(9, row_h - 1)), anchor="rm")
        self.strip = np.asarray(strip)
        self.image_h = h
        self.image_top = self.legend.shape[0]
        self.height = self.legend.shape[0] + h + self.strip.shape[0]
        self.height += self.height % 2
        self.spans = column_spans(stop - start, self.strip_w)

    def render(self, i: int, image: np.ndarray) -> np.ndarray:
        """Frame ``i`` (0-based in the sequence) with its regions, legend, number and strip."""
        scene, s = self.scene, self.scale
        if s > 1:
            h, w = image.shape[:2]
            image = np.asarray(Image.fromarray(image).resize((w * s, h * s),
                                                              Image.Resampling.BILINEAR))
        drawn = draw_regions(image, scene.groundtruth[i] * s,
                             [t.polygons[i] * s for t in scene.tracks],
                             [scene.color(k) for k in range(len(scene.tracks))])
        out = np.full((self.height, self.width, 3), 255, np.uint8)
        top = self.image_top
        out[:top] = self.legend
        out[top:top + drawn.shape[0], :drawn.shape[1]] = drawn
        strip = Image.fromarray(self.strip.copy())
        draw = ImageDraw.Draw(strip)
        first, end = self.spans
        columns = np.flatnonzero((first <= i - self.start) & (end > i - self.start))
        x = self.label_w + (int(columns[0]) + int(columns[-1])) / 2
        m = self.marker_h
        draw.polygon([(x - m, 0), (x + m, 0), (x, m)], fill=CURSOR)
        draw.line([(x, m + 1), (x, self.strip.shape[0] - 1)], fill=WHITE, width=1)
        s0 = top + self.image_h
        out[s0:s0 + self.strip.shape[0]] = np.asarray(strip)
        label = Image.fromarray(out[:top])
        ImageDraw.Draw(label).text((self.width - self.font_px // 2, top // 2),
                                   f"frame {i + 1} / {len(scene)}", fill=BLACK,
                                   font=_font(self.font_px), anchor="rm")
        out[:top] = np.asarray(label)
        return out


def video_frames(scene: Scene, start: int, stop: int) -> Iterator[np.ndarray]:
    """Yield the composed RGB frames ``start..stop-1`` (0-based), all of one size."""
    first = read_frame(scene.frames[start])
    layout = VideoLayout(scene, start, stop, first.shape)
    for i in range(start, stop):
        image = first if i == start else read_frame(scene.frames[i])
        if image.shape != first.shape:
            raise PulBenchError(f"{scene.frames[i]}: {image.shape[1]}x{image.shape[0]} pixels, "
                                f"but the sequence's first frame is "
                                f"{first.shape[1]}x{first.shape[0]}")
        yield layout.render(i, image)


def write_mp4(scene: Scene, start: int, stop: int, out: Path, fps: float) -> int:
    """Write frames ``start..stop-1`` as an MPEG-4 (``mp4v``) video; return the frame count."""
    import cv2

    count = 0
    with atomic_path(out) as tmp:
        # FFmpeg picks the container from the name, so the temporary file must end in .mp4
        named = tmp.with_name(tmp.name + ".mp4")
        writer = None
        try:
            for frame in video_frames(scene, start, stop):
                if writer is None:
                    writer = cv2.VideoWriter(str(named), cv2.VideoWriter_fourcc(*FOURCC), fps,
                                             (frame.shape[1], frame.shape[0]))
                    if not writer.isOpened():
                        raise PulBenchError(f"{out}: OpenCV cannot open an {FOURCC} video "
                                            "writer here; write a .gif instead")
                writer.write(np.ascontiguousarray(frame[:, :, ::-1]))
                count += 1
        finally:
            if writer is not None:
                writer.release()
            if named.exists():
                os.replace(named, tmp)
    return count


def write_gif(scene: Scene, start: int, stop: int, out: Path, fps: float) -> int:
    """Write frames ``start..stop-1`` as a looping GIF; return the frame count."""
    # fast octree palettes: Pillow's default median cut costs 0.25-0.5 s a frame
    frames = [Image.fromarray(f).quantize(256, method=Image.Quantize.FASTOCTREE)
              for f in video_frames(scene, start, stop)]
    with atomic_path(out) as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:],
                       duration=max(20, round(1000 / fps)), loop=0, optimize=False)
    return len(frames)


# ---- contact sheet -----------------------------------------------------------------------------


def sheet_frames(start: int, stop: int, count: int) -> list[int]:
    """``count`` frames spread evenly over ``start..stop-1``, first and last included."""
    count = min(count, stop - start)
    return sorted({int(round(v)) for v in np.linspace(start, stop - 1, count)})


def contact_sheet(scene: Scene, start: int, stop: int, count: int, width_in: float = 7.0,
                  columns: int | None = None) -> Figure:
    """A figure for a paper: ``count`` frames of ``start..stop-1`` in a grid (at most 6 a row,
    ``width_in`` inches wide: a two-column page's text width), the legend above, and the IoU
    strip of the whole range below with the shown frames marked on it."""
    shown = sheet_frames(start, stop, count)
    images = [read_frame(scene.frames[i]) for i in shown]
    h, w = images[0].shape[:2]
    cols = columns or (len(shown) if len(shown) <= 6 else math.ceil(
        len(shown) / math.ceil(len(shown) / 6)))
    rows = math.ceil(len(shown) / cols)
    names = [t.name for t in scene.tracks]
    colors = [scene.color(k) for k in range(len(names))]
    font = 7.0
    label_in = 0.1 + max([TextPath((0, 0), n, size=font).get_extents().width / 72
                          for n in names] + [0.2])
    left, right, gap = label_in, 0.05, 0.04
    thumb_w = (width_in - left - right - gap * (cols - 1)) / cols
    thumb_h = thumb_w * h / w
    fig = Figure(figsize=(width_in, 1.0), dpi=300)
    outline = [patheffects.withStroke(linewidth=2.4, foreground="black")]
    legend = _sheet_legend(fig, names, colors, font + 0.5, outline, left, right)
    legend_in = legend.get_window_extent().height / fig.dpi + 0.04
    strip_row_in = 0.13
    strip_in = strip_row_in * max(len(names), 1)
    above_in, below_in = 0.16, 0.34  # the strip's frame marks; its x labels and note
    height_in = legend_in + rows * thumb_h + (rows - 1) * gap + above_in + strip_in + below_in
    fig.set_size_inches(width_in, height_in)

    def axes(x_in: float, top_in: float, w_in: float, h_in: float) -> Axes:
        return fig.add_axes((x_in / width_in, 1 - (top_in + h_in) / height_in,
                             w_in / width_in, h_in / height_in))

    for j, (i, image) in enumerate(zip(shown, images, strict=True)):
        r, c = divmod(j, cols)
        ax = axes(left + c * (thumb_w + gap), legend_in + r * (thumb_h + gap), thumb_w, thumb_h)
        ax.imshow(image, extent=(0, w, h, 0), interpolation="antialiased")
        ax.set_xlim(0, w)
        ax.set_ylim(h, 0)
        ax.set_axis_off()
        gt = scene.groundtruth[i]
        if np.all(np.isfinite(gt)):
            ax.add_patch(Polygon(gt.reshape(4, 2), closed=True, fill=False, ec="white",
                                 lw=1.2, path_effects=outline, zorder=2))
        for k in reversed(range(len(scene.tracks))):
            poly = scene.tracks[k].polygons[i]
            if np.all(np.isfinite(poly)):
                ax.add_patch(Polygon(poly.reshape(4, 2), closed=True, fill=False,
                                     ec=colors[k], lw=1.2, zorder=3))
        ax.text(0.03, 0.95, f"#{i + 1}", transform=ax.transAxes, ha="left", va="top",
                fontsize=font, color="white", fontweight="bold",
                bbox={"facecolor": "black", "alpha": 0.6, "pad": 1.2, "linewidth": 0})
    strip_top = legend_in + rows * thumb_h + (rows - 1) * gap + above_in
    ax = axes(left, strip_top, width_in - left - right, strip_in)
    cols_per_frame = max(1, math.ceil(1500 / (stop - start)))
    raster = strip_raster(scene.tracks, colors, start, stop, cols_per_frame * (stop - start), 12)
    ax.imshow(raster, extent=(start + 0.5, stop + 0.5, len(names), 0), aspect="auto",
              interpolation="nearest")
    ax.set_yticks(np.arange(len(names)) + 0.5, names, fontsize=font)
    for label, color in zip(ax.get_yticklabels(), colors, strict=True):
        label.set_color(color)
    ax.tick_params(axis="y", length=0, pad=2)
    ax.tick_params(axis="x", labelsize=font, length=2, pad=1.5)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=10, integer=True))
    for side in ax.spines.values():
        side.set_linewidth(0.5)
    above = offset_copy(ax.get_xaxis_transform(), fig=fig, y=2.2, units="points")
    ax.plot([i + 1 for i in shown], [1.0] * len(shown), ls="", marker="v", ms=4,
            color="0.15", clip_on=False, transform=above)
    ax.set_xlabel(f"frame ({scene.sequence}); bar height: IoU with the ground truth; "
                  f"{scene.failure_rule}", fontsize=font, labelpad=2)
    return fig


def _sheet_legend(fig: Figure, names: Sequence[str], colors: Sequence[str], font: float,
                  outline: list, left_in: float, right_in: float) -> Legend:
    """The sheet's legend at the top, on as few lines as fit the figure's width: over the
    frames when it fits there, else centred on the figure."""
    width_in = fig.get_figwidth()
    renderer = FigureCanvasAgg(fig).get_renderer()
    handles = [Line2D([], [], color="white", lw=1.6, path_effects=outline)]
    handles += [Line2D([], [], color=c, lw=1.8) for c in colors]
    labels = [GROUND_TRUTH, *names]
    for ncol in range(len(handles), 0, -1):
        # matplotlib fills columns first; this order reads left to right, line by line
        n, rows = len(handles), math.ceil(len(handles) / ncol)
        order = [r * ncol + c for c in range(ncol) for r in range(rows) if r * ncol + c < n]
        legend = fig.legend([handles[i] for i in order], [labels[i] for i in order],
                            loc="upper center", ncol=ncol,
                            bbox_to_anchor=(0.5, 1.0), frameon=False, fontsize=font,
                            handlelength=1.8, columnspacing=1.2, borderaxespad=0.2)
        wide = legend.get_window_extent(renderer).width / fig.dpi
        if wide <= width_in - 0.1 or ncol == 1:
            break
        legend.remove()
    if wide <= width_in - left_in - right_in:
        legend.set_bbox_to_anchor((0.5 + (left_in - right_in) / 2 / width_in, 1.0),
                                  transform=fig.transFigure)
    return legend


# ---- any output --------------------------------------------------------------------------------


def output_kind(out: Path) -> str:
    """``mp4``, ``gif``, ``png`` or ``pdf``: what ``out``'s suffix asks for."""
    suffix = out.suffix.lower()
    if suffix not in VIDEO_SUFFIXES + SHEET_SUFFIXES:
        raise PulBenchError(f"{out}: unknown output type {out.suffix or '(no suffix)'!r}; use "
                            f"one of {', '.join(VIDEO_SUFFIXES + SHEET_SUFFIXES)}")
    return suffix[1:]


def write(scene: Scene, out: Path, start: int, stop: int, fps: float = 25.0,
          sheet: int = 6) -> int:
    """Write ``out`` by its suffix: ``.mp4``/``.gif`` every frame of ``start..stop-1``,
    ``.png``/``.pdf`` a contact sheet of ``sheet`` of them; return the frames drawn."""
    kind = output_kind(out)
    if kind == "mp4":
        return write_mp4(scene, start, stop, out, fps)
    if kind == "gif":
        return write_gif(scene, start, stop, out, fps)
    with rc_context({"pdf.fonttype": 42}):  # TrueType fonts: publishers refuse Type 3
        save(contact_sheet(scene, start, stop, sheet), out, formats=(kind,), palette=False)
    return len(sheet_frames(start, stop, sheet))
