"""OpenCV's trackers: the correlation-filter baselines KCF and CSRT (contrib), and NanoTrack.

KCF and CSRT need no checkpoint, so every fresh install can run and score a real tracker.
:class:`OpenCVNanoTracker` runs NanoTrack's ONNX pair through ``cv2.TrackerNano`` (OpenCV's own
port of the procedure, integer boxes), beside the re-implementation in ``nanotrack.py``.
OpenCV wants BGR images and integer rectangles; this wrapper converts from the package's RGB
images and float 0-based boxes, and keeps the previous box when OpenCV reports a lost target
(it then returns an all-zero rectangle, which would otherwise count as a jump to the image
corner).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import cv2
import numpy as np
import yaml

from pul_bench import schema
from pul_bench.errors import PulBenchError
from pul_bench.tracker import Box, Tracker
from pul_bench.trackers.nanotrack import model_paths

#: algorithm name -> (tracker constructor, parameter-struct constructor)
ALGORITHMS: dict[str, tuple[Callable[..., Any], Callable[[], Any]]] = {
    "kcf": (cv2.TrackerKCF_create, cv2.TrackerKCF_Params),
    "csrt": (cv2.TrackerCSRT_create, cv2.TrackerCSRT_Params),
    "nano": (cv2.TrackerNano_create, cv2.TrackerNano_Params),
}


class OpenCVTracker(Tracker):
    """An OpenCV tracker (``algorithm`` 'kcf' or 'csrt'); ``params`` set fields of its Params.

    Both algorithms are deterministic: the same frames give the same boxes on every run.
    """

    deterministic: ClassVar[bool | None] = True

    def __init__(self, algorithm: str = "kcf", params: dict[str, Any] | None = None) -> None:
        if algorithm not in ALGORITHMS:
            raise PulBenchError(
                f"unknown OpenCV tracker {algorithm!r}; choose one of {sorted(ALGORITHMS)}")
        self.algorithm = algorithm
        self.name = algorithm
        self._params = ALGORITHMS[algorithm][1]()
        for key, value in (params or {}).items():
            problem = _param_problem(algorithm, key, value)
            if problem:
                raise PulBenchError(problem)
            setattr(self._params, key, value)
        self._tracker: Any = None
        self._box = np.zeros(4)

    @staticmethod
    def check_args(args: Mapping[str, Any], nodes: Mapping[str, yaml.Node]) -> None:
        """Refuse an unknown algorithm, or a parameter OpenCV does not have or would not take
        (``detect_thresh: "high"``), when the spec is checked, at its line (``nodes``: the
        YAML nodes the arguments were written as, where they come from a spec file)."""
        algorithm = args.get("algorithm", "kcf")
        if algorithm not in ALGORITHMS:
            problem = f"unknown OpenCV tracker {algorithm!r}; choose one of {sorted(ALGORITHMS)}"
            raise _at(nodes.get("algorithm"), "args.algorithm", problem)
        params_node = nodes.get("params")
        lines = schema.keys(params_node, "args.params") \
            if isinstance(params_node, yaml.MappingNode) else {}
        for key, value in (args.get("params") or {}).items():
            problem = _param_problem(algorithm, key, value)
            if problem:
                raise _at(lines.get(key), f"args.params.{key}", problem)

    def init(self, image: np.ndarray, box: Sequence[float]) -> None:
        """Start a fresh OpenCV tracker on ``box`` (rounded to whole pixels, at least 1x1)."""
        self._box = np.asarray(box, dtype=np.float64).reshape(4).copy()
        x, y, w, h = (int(round(v)) for v in self._box)
        self._tracker = ALGORITHMS[self.algorithm][0](self._params)
        self._tracker.init(_bgr(image), (x, y, max(w, 1), max(h, 1)))

    def update(self, image: np.ndarray) -> Box:
        """The new box, or the previous one where OpenCV reports the target lost."""
        ok, rect = self._tracker.update(_bgr(image))
        if ok and rect[2] > 0 and rect[3] > 0:
            self._box = np.asarray(rect, dtype=np.float64)
        return self._box.copy()


class OpenCVNanoTracker(OpenCVTracker):
    """``cv2.TrackerNano`` on the NanoTrack files in ``model_dir`` (relative: under the data
    root) or in the folder ``checkpoint``; ``params`` set other fields of its Params."""

    def __init__(self, model_dir: str, params: dict[str, Any] | None = None,
                 checkpoint: str | None = None) -> None:
        files = model_paths(model_dir, checkpoint)
        super().__init__("nano", {**(params or {}), "backbone": str(files["backbone"]),
                                  "neckhead": str(files["head"])})

    @staticmethod
    def check_args(args: Mapping[str, Any], nodes: Mapping[str, yaml.Node]) -> None:
        """``params`` checked against cv2.TrackerNano's Params, not the default algorithm's."""
        OpenCVTracker.check_args({**args, "algorithm": "nano"}, nodes)

    @staticmethod
    def model_files(model_dir: str, checkpoint: str | None = None,
                    **_: Any) -> dict[str, Any]:
        """The files this set-up reads (the run's set-up record hashes them)."""
        return model_paths(model_dir, checkpoint)

    def init(self, image: np.ndarray, box: Sequence[float]) -> None:
        try:
            super().init(image, box)
        except cv2.error as e:  # a file OpenCV's DNN cannot read is only opened here
            raise PulBenchError(f"cv2.TrackerNano cannot load {self._params.backbone} / "
                                f"{self._params.neckhead}: {e.err}") from None


def param_types(algorithm: str) -> dict[str, type]:
    """Each field of an algorithm's OpenCV Params struct and the type it holds (bool, int,
    float or str, read from the defaults)."""
    defaults = ALGORITHMS[algorithm][1]()
    return {a: type(getattr(defaults, a)) for a in dir(defaults) if not a.startswith("_")}


def _param_problem(algorithm: str, key: str, value: Any) -> str | None:
    """Why OpenCV would refuse ``value`` for parameter ``key`` (None: it takes it). An int
    goes where a float does; a bool is never taken for a number."""
    types = param_types(algorithm)
    if key not in types:
        return f"{algorithm}: unknown parameter {key!r}; allowed: {', '.join(sorted(types))}"
    want = types[key]
    ok = isinstance(value, want) and (want is bool or not isinstance(value, bool)) \
        or (want is float and isinstance(value, int) and not isinstance(value, bool))
    return None if ok else f"{algorithm}: parameter {key} must be {want.__name__}, got {value!r}"


def _at(node: yaml.Node | None, what: str, problem: str) -> PulBenchError:
    """``problem`` at ``node``'s file and line where the value came from a spec file."""
    return schema.fail(node, f"{what}: {problem}") if node is not None else PulBenchError(problem)


def _bgr(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
