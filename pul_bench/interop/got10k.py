"""Two-way bridge with the got10k toolkit (0.1.3), offline.

* :class:`Got10kAdapter` makes a pul_bench tracker a ``got10k.trackers.Tracker``, so got10k's
  ``track(img_files, box)`` loop and experiments can drive it.
* :class:`FromGot10k` makes a got10k tracker a pul_bench tracker, and :func:`register_got10k`
  (or a YAML spec with ``factory: pul_bench.interop.got10k:wrap``) registers it by name.

Box conventions differ: got10k trackers receive and return the boxes of its dataset files
as they are, i.e. 1-based ``[x, y, w, h]`` on OTB (siamfc-pytorch subtracts 1 on init);
pul_bench is 0-based. Images differ too: got10k passes PIL images, pul_bench RGB arrays.

Importing this module disarms got10k's downloader: any dataset or experiment that would fetch
missing sequences (``ExperimentOTB`` does by default) fails at once with
:class:`~pul_bench.errors.PulBenchError` instead of reaching the network. Only got10k's tracker
module and its dataset modules are imported here (its VOT code uses ``np.NaN``, gone in NumPy 2).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pul_bench.errors import PulBenchError
from pul_bench.registry import TrackerSpec, register
from pul_bench.tracker import Box, Tracker

try:
    import got10k.datasets
    import got10k.utils.ioutils
    from got10k.trackers import Tracker as Got10kTracker
except ImportError as e:  # pragma: no cover - depends on the optional extra
    raise PulBenchError(
        f"got10k interop needs the optional packages: pip install 'pul_bench[got10k]' ({e})"
    ) from None

#: got10k's boxes are 1-based; this is added to x and y when handing a box to got10k.
GOT10K_OFFSET = 1.0


def _refuse_download(url: str, filename: str, *args: Any, **kwargs: Any) -> None:
    raise PulBenchError(
        f"got10k tried to download {url} to {filename}; pul_bench never downloads. Put the "
        "sequences under the dataset root yourself (e.g. ../shared/data/sequences/otb) or "
        "construct the got10k dataset with download=False.")


def disable_downloads() -> None:
    """Replace got10k's ``download`` everywhere it was imported by the refusing stub."""
    got10k.utils.ioutils.download = _refuse_download
    for info in pkgutil.iter_modules(got10k.datasets.__path__, "got10k.datasets."):
        module = importlib.import_module(info.name)
        if hasattr(module, "download"):
            module.download = _refuse_download


disable_downloads()


class Got10kAdapter(Got10kTracker):
    """A pul_bench tracker seen by got10k: PIL images in, 1-based boxes in and out."""

    def __init__(self, tracker: Tracker, name: str | None = None) -> None:
        super().__init__(name=name or getattr(tracker, "name", type(tracker).__name__),
                         is_deterministic=bool(getattr(tracker, "deterministic", False)))
        self.tracker = tracker

    def init(self, image: Any, box: Sequence[float]) -> None:
        b = np.asarray(box, dtype=np.float64).reshape(4).copy()
        b[:2] -= GOT10K_OFFSET
        self.tracker.init(_rgb(image), b)

    def update(self, image: Any) -> np.ndarray:
        b = np.asarray(self.tracker.update(_rgb(image)), dtype=np.float64).reshape(4).copy()
        b[:2] += GOT10K_OFFSET
        return b


class FromGot10k(Tracker):
    """A got10k tracker seen by pul_bench: RGB arrays become PIL images, boxes shift by 1."""

    def __init__(self, tracker: Got10kTracker) -> None:
        self.tracker = tracker
        self.name = getattr(tracker, "name", type(tracker).__name__)
        self.deterministic = getattr(tracker, "is_deterministic", None)

    def init(self, image: np.ndarray, box: Sequence[float]) -> None:
        b = np.asarray(box, dtype=np.float64).reshape(4).copy()
        b[:2] += GOT10K_OFFSET
        self.tracker.init(_pil(image), b)

    def update(self, image: np.ndarray) -> Box:
        b = np.asarray(self.tracker.update(_pil(image)), dtype=np.float64).reshape(4).copy()
        b[:2] -= GOT10K_OFFSET
        return b


def wrap(cls: str, kwargs: dict[str, Any] | None = None, checkpoint: Any = None) -> FromGot10k:
    """Spec factory: build got10k tracker class ``cls`` ('module:Class') and wrap it.

    ``checkpoint`` (from the spec) is passed to the class as ``net_path``, the name
    siamfc-pytorch and other got10k-style trackers use.
    """
    module, _, attr = cls.partition(":")
    if not attr:
        raise PulBenchError(f"got10k tracker class {cls!r} must look like 'module:Class'")
    try:
        klass = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise PulBenchError(f"cannot load got10k tracker {cls!r}: {e}") from None
    extra = {"net_path": str(checkpoint)} if checkpoint is not None else {}
    return FromGot10k(klass(**(kwargs or {}), **extra))


def register_got10k(name: str, factory: Callable[[], Got10kTracker],
                    description: str = "") -> TrackerSpec:
    """Register a got10k tracker factory as pul_bench tracker ``name`` for this process."""

    def make() -> FromGot10k:
        return FromGot10k(factory())

    make.__doc__ = factory.__doc__
    return register(name, make, description or f"got10k tracker {name}")


def _rgb(image: Any) -> np.ndarray:
    """PIL image or array -> RGB uint8 array (got10k hands over PIL images)."""
    if hasattr(image, "convert"):
        image = image.convert("RGB")
    return np.asarray(image, dtype=np.uint8)


def _pil(image: np.ndarray) -> Any:
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))
