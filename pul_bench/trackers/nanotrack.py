"""NanoTrack (H. Chu, HonglinChu/SiamTrackers), V1-V3, run from its author's ONNX files.

A pretrained tracker from outside this repository: the network is the author's (a MobileNetV3
backbone in ``backbone.onnx``, a depthwise-correlation head in ``head.onnx``), the tracking
procedure around it is re-implemented here from the author's pysot-style tracker, so that its
published VOT2018 output can be reproduced frame by frame (``tests/test_nanotrack.py``).

Per frame: crop the square of side ``s_x = s_z * instance / exemplar`` around the last centre
(``s_z`` is the context square ``sqrt((w + p)(h + p))``, ``p = context * (w + h)``) the pysot
way -- whole-pixel window, padding with the first frame's mean colour (truncated to uint8),
bilinear resize -- embed it, run the head on the cached exemplar features, and read a
``score_size`` x ``score_size`` grid of points ``stride`` pixels apart centred on the crop:
a 2-way softmax gives each point's foreground score and the 4 regression channels its distances
to the box's left, top, right and bottom. Each score is multiplied by a penalty on the change of
scale and aspect ratio, ``exp(-(r * s - 1) * penalty_k)``, blended with a cosine window, and the
best point's box moves the centre; the size moves toward it by ``lr * penalty * score``. The
centre is clipped to the frame and each side to ``[min_size, frame side]``.

The networks expect BGR pixels in 0..255 (OpenCV's order, as the author's code reads frames),
so the RGB frames of the Tracker protocol are reversed once per frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np

from pul_bench.errors import InputError, PulBenchError
from pul_bench.paths import data_root
from pul_bench.tracker import Box, Tracker

#: The two files of a NanoTrack model folder, by role.
MODEL_FILES = {"backbone": "backbone.onnx", "head": "head.onnx"}


def model_paths(model_dir: str | Path, checkpoint: str | Path | None = None) -> dict[str, Path]:
    """The backbone and head files: in ``checkpoint`` (a folder) if given, else in
    ``model_dir`` (relative paths are under the shared data root). A missing one is an error
    naming it."""
    folder = Path(checkpoint) if checkpoint is not None else Path(model_dir)
    if checkpoint is None and not folder.is_absolute():
        folder = data_root() / folder
    if not folder.is_dir():
        raise PulBenchError(f"NanoTrack model folder not found: {folder} (it holds "
                            f"{' and '.join(MODEL_FILES.values())})")
    paths = {role: folder / name for role, name in MODEL_FILES.items()}
    for path in paths.values():
        if not path.is_file():
            raise InputError(path, "NanoTrack model file not found")
    return paths


def _session(path: Path, providers: list[str], threads: int | None,
             expect: tuple[int, int]) -> Any:
    """An onnxruntime session for ``path`` with free spatial input sizes (the author's files fix
    the backbone's input at 255 px, while the exemplar crop is 127 px); ``expect`` is the
    (inputs, outputs) count a NanoTrack file has, so another model is refused by name."""
    import onnx
    import onnxruntime as ort

    try:
        model = onnx.load(str(path))
    except Exception as e:  # protobuf raises its own DecodeError types
        raise InputError(path, f"not an ONNX model ({type(e).__name__}: {e})") from None
    graph = model.graph
    if (len(graph.input), len(graph.output)) != expect:
        raise InputError(path, f"not a NanoTrack {'head' if expect[0] == 2 else 'backbone'}: "
                               f"{len(graph.input)} inputs and {len(graph.output)} outputs, "
                               f"expected {expect[0]} and {expect[1]}")
    for k, value in enumerate([*graph.input, *graph.output]):
        dims = value.type.tensor_type.shape.dim
        for axis in (2, 3):
            if len(dims) > axis:
                dims[axis].dim_param = f"s{k}_{axis}"
    del graph.value_info[:]  # stale fixed shapes of intermediate tensors
    options = ort.SessionOptions()
    # No busy-waiting between runs: spinning pool threads would take the cores from whatever
    # runs next in this process (the crop, another tracker timed beside it by bench speed).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # Default: OpenCV's thread count, which --workers N divides among the worker processes.
    options.intra_op_num_threads = int(threads or max(1, cv2.getNumThreads()))
    try:
        return ort.InferenceSession(model.SerializeToString(), options, providers=providers)
    except Exception as e:  # onnxruntime's Fail / InvalidGraph
        raise InputError(path, f"onnxruntime cannot load it: {e}") from None


def pysot_subwindow(image: np.ndarray, center: np.ndarray, out_size: int, size: float,
                    fill: np.ndarray) -> np.ndarray:
    """The ``size``-pixel square around ``center`` as pysot's ``get_subwindow`` cuts it:
    whole-pixel bounds from ``floor(c - (size + 1) / 2 + 0.5)``, outside pixels set to
    ``fill`` (cast to uint8, i.e. truncated), resized bilinearly to ``out_size``; uint8."""
    rows, cols = image.shape[:2]
    x0 = int(np.floor(center[0] - (size + 1) / 2 + 0.5))
    y0 = int(np.floor(center[1] - (size + 1) / 2 + 0.5))
    side = int(size)
    x1, y1 = x0 + side, y0 + side  # exclusive
    if x0 >= 0 and y0 >= 0 and x1 <= cols and y1 <= rows:
        patch = image[y0:y1, x0:x1]
    else:
        patch = np.empty((side, side, image.shape[2]), np.uint8)
        patch[:] = fill.astype(np.uint8)
        sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, cols), min(y1, rows)
        if sx1 > sx0 and sy1 > sy0:
            patch[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    if side != out_size:
        patch = cv2.resize(patch, (out_size, out_size))
    return patch


def points(stride: int, size: int) -> np.ndarray:
    """(size * size, 2) float32 offsets (x, y) from the search crop's centre of each score cell,
    row-major: cell (0, 0) at ``-(size // 2) * stride`` on both axes."""
    ticks = (np.arange(size) - size // 2) * stride
    x, y = np.meshgrid(ticks, ticks)
    return np.stack([x.ravel(), y.ravel()], axis=1).astype(np.float32)


def decode(cls: np.ndarray, loc: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Head outputs (2, S, S) and (4, S, S) -> foreground scores (S*S,) by a 2-way softmax and
    boxes (4, S*S) ``cx, cy, w, h`` in search-crop pixels relative to its centre, from each
    point's distances to the left, top, right and bottom sides."""
    logits = cls.reshape(2, -1).astype(np.float32)
    e = np.exp(logits - logits.max(axis=0))
    score = e[1] / e.sum(axis=0)
    d = loc.reshape(4, -1).astype(np.float32)
    x1, y1 = grid[:, 0] - d[0], grid[:, 1] - d[1]
    x2, y2 = grid[:, 0] + d[2], grid[:, 1] + d[3]
    return score, np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1])


def change_penalty(boxes: np.ndarray, size: np.ndarray, penalty_k: float) -> np.ndarray:
    """``exp(-(r * s - 1) * k)``: s and r are the factors (>= 1) by which each candidate's
    context size and aspect ratio differ from the current target's (``size`` in crop pixels)."""
    def context(w: Any, h: Any) -> Any:
        pad = (w + h) * 0.5
        return np.sqrt((w + pad) * (h + pad))

    def change(r: np.ndarray) -> np.ndarray:
        return np.maximum(r, 1.0 / r)

    s = change(context(boxes[2], boxes[3]) / context(size[0], size[1]))
    r = change((size[0] / size[1]) / (boxes[2] / boxes[3]))
    return np.exp(-(r * s - 1) * penalty_k)


class NanoTracker(Tracker):
    """NanoTrack on onnxruntime; the hyper-parameters are the author's per version (the
    ``TRACK`` section of ``models/config/configv{1,2,3}.yaml``), set in the spec."""

    deterministic: ClassVar[bool | None] = True

    def __init__(self, *, model_dir: str, score_size: int, window_influence: float,
                 penalty_k: float, lr: float, stride: int = 16, exemplar_size: int = 127,
                 instance_size: int = 255, context: float = 0.5, min_size: float = 10.0,
                 device: str = "auto", threads: int | None = None,
                 checkpoint: str | Path | None = None) -> None:
        import onnxruntime as ort

        available = ort.get_available_providers()
        if device == "auto":
            device = "cuda" if "CUDAExecutionProvider" in available else "cpu"
        if device not in ("cpu", "cuda"):
            raise PulBenchError(f"device must be cpu, cuda or auto, not {device!r}")
        if device == "cuda" and "CUDAExecutionProvider" not in available:
            raise PulBenchError(f"device 'cuda': onnxruntime {ort.__version__} here has no CUDA "
                                f"provider ({', '.join(available)}); use --device cpu or auto")
        providers = ["CUDAExecutionProvider"] * (device == "cuda") + ["CPUExecutionProvider"]
        self.device = device
        self.files = model_paths(model_dir, checkpoint)
        self.backbone = _session(self.files["backbone"], providers, threads, (1, 1))
        self.head = _session(self.files["head"], providers, threads, (2, 2))
        self.score_size, self.stride = score_size, stride
        self.window_influence, self.penalty_k, self.lr = window_influence, penalty_k, lr
        self.exemplar_size, self.instance_size = exemplar_size, instance_size
        self.context, self.min_size = context, min_size
        hann = np.hanning(score_size)
        self.window = np.outer(hann, hann).ravel()
        self.grid = points(stride, score_size)
        self._check_head()

    @staticmethod
    def model_files(model_dir: str, checkpoint: str | Path | None = None,
                    **_: Any) -> dict[str, Path]:
        """The files this set-up reads (the run's set-up record hashes them)."""
        return model_paths(model_dir, checkpoint)

    def _check_head(self) -> None:
        """Run the head once on zeros: a head whose grid is not ``score_size`` (a V3 file under
        a V1 spec) is refused here, naming the file, not later as a shape error."""
        z = self._embed(np.zeros((self.exemplar_size,) * 2 + (3,), np.uint8))
        x = self._embed(np.zeros((self.instance_size,) * 2 + (3,), np.uint8))
        cls, loc = self._head(z, x)
        if cls.shape[-2:] != (self.score_size,) * 2 or loc.shape[0] != 4:
            raise InputError(self.files["head"], f"head gives a {cls.shape[-2]}x{cls.shape[-1]} "
                                                 f"score grid; the spec's score_size is "
                                                 f"{self.score_size}")

    def _embed(self, crop: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(crop.transpose(2, 0, 1)[None], dtype=np.float32)
        return self.backbone.run(None, {self.backbone.get_inputs()[0].name: x})[0]

    def _head(self, zf: np.ndarray, xf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        names = [i.name for i in self.head.get_inputs()]
        cls, loc = self.head.run(None, {names[0]: zf, names[1]: xf})
        return cls[0], loc[0]

    def _context(self) -> float:
        pad = self.context * float(np.sum(self.size))
        return float(np.sqrt((self.size[0] + pad) * (self.size[1] + pad)))

    def init(self, image: np.ndarray, box: Sequence[float]) -> None:
        bgr = image[..., ::-1]
        b = np.asarray(box, dtype=np.float64)
        self.center = b[:2] + b[2:4] / 2
        self.size = b[2:4].copy()
        self.fill = bgr.mean(axis=(0, 1))
        z = pysot_subwindow(bgr, self.center, self.exemplar_size, round(self._context()),
                            self.fill)
        self.zf = self._embed(z)

    def update(self, image: np.ndarray) -> Box:
        bgr = image[..., ::-1]
        s_z = self._context()
        scale_z = self.exemplar_size / s_z
        s_x = s_z * self.instance_size / self.exemplar_size
        x = pysot_subwindow(bgr, self.center, self.instance_size, round(s_x), self.fill)
        score, boxes = decode(*self._head(self.zf, self._embed(x)), self.grid)
        penalty = change_penalty(boxes, self.size * scale_z, self.penalty_k)
        pscore = penalty * score * (1 - self.window_influence) \
            + self.window * self.window_influence
        best = int(np.argmax(pscore))
        cx, cy, w, h = boxes[:, best] / scale_z
        lr = penalty[best] * score[best] * self.lr
        rows, cols = image.shape[:2]
        size = self.size * (1 - lr) + np.array([w, h]) * lr
        self.center = np.clip(self.center + [cx, cy], 0, [cols, rows])
        self.size = np.maximum(self.min_size, np.minimum(size, [cols, rows]))
        w, h = self.size
        return np.array([self.center[0] - w / 2, self.center[1] - h / 2, w, h])
