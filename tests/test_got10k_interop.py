"""got10k <-> pul_bench on real OTB sequences, with the network provably untouched."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("got10k", reason="optional extra pul_bench[got10k] not installed")

from got10k.datasets import OTB  # noqa: E402
from got10k.experiments.otb import ExperimentOTB  # noqa: E402
from got10k.trackers import IdentityTracker as Got10kIdentity  # noqa: E402
from got10k.trackers import Tracker as Got10kTracker  # noqa: E402

from pul_bench.errors import PulBenchError  # noqa: E402
from pul_bench.interop.got10k import (  # noqa: E402
    FromGot10k,
    Got10kAdapter,
    register_got10k,
    wrap,
)
from pul_bench.registry import _registered, create  # noqa: E402


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection or resolve a name fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def crossing(otb_sequences: Path) -> tuple[list[str], np.ndarray]:
    """Crossing as got10k itself reads it from the shared folder: files and 1-based boxes."""
    dataset = OTB(str(otb_sequences), version=2015, download=False)
    files, anno = dataset["Crossing"]
    return files[:60], anno[:60]


class _Recorder(Got10kTracker):
    """A got10k tracker that echoes the first box, shifted 2 px right per frame."""

    def __init__(self) -> None:
        super().__init__(name="recorder", is_deterministic=True)

    def init(self, image, box):  # noqa: ANN001 - got10k's untyped interface
        self.seen = [(image.size, np.array(box, dtype=float))]
        self.box = np.array(box, dtype=float)

    def update(self, image):  # noqa: ANN001
        self.seen.append((image.size, None))
        self.box = self.box + [2, 0, 0, 0]
        return self.box


def test_pulbench_tracker_runs_inside_got10k(crossing: tuple[list[str], np.ndarray]) -> None:
    files, anno = crossing
    native, _ = create("kcf").track(files, anno[0] - [1, 1, 0, 0])
    adapter = Got10kAdapter(create("kcf"))
    assert isinstance(adapter, Got10kTracker) and adapter.is_deterministic
    boxes, times = adapter.track(files, anno[0])  # got10k's own frame loop, PIL images
    np.testing.assert_array_equal(boxes, native + [1, 1, 0, 0])
    assert times.shape == (60,)


def test_got10k_tracker_registered_as_plugin(otb_sequences: Path) -> None:
    files = sorted((otb_sequences / "Girl" / "img").glob("*.jpg"))[:20]
    box0 = np.array([56.0, 20.0, 31.0, 45.0])
    register_got10k("got10k_recorder", _Recorder, "records what got10k trackers receive")
    try:
        tracker = create("got10k_recorder")
        boxes, _ = tracker.track(files, box0)
    finally:
        _registered.pop("got10k_recorder")
    inner = tracker.tracker
    # got10k receives PIL images of the real frame size and the 1-based box
    assert inner.seen[0][0] == (128, 96) and len(inner.seen) == 20
    np.testing.assert_array_equal(inner.seen[0][1], box0 + [1, 1, 0, 0])
    np.testing.assert_array_equal(boxes[:, 0], box0[0] + 2 * np.arange(20))
    np.testing.assert_array_equal(boxes[:, 1:], np.tile(box0[1:], (20, 1)))


def test_spec_factory_wraps_a_got10k_class(crossing: tuple[list[str], np.ndarray]) -> None:
    files, anno = crossing
    tracker = wrap("got10k.trackers:IdentityTracker")
    assert isinstance(tracker, FromGot10k) and tracker.deterministic is True
    boxes, _ = tracker.track(files, anno[0] - [1, 1, 0, 0])
    np.testing.assert_array_equal(boxes, np.tile(anno[0] - [1, 1, 0, 0], (60, 1)))
    # and back again: got10k's identity tracker through both adapters is still the identity
    round_trip = Got10kAdapter(FromGot10k(Got10kIdentity()))
    again, _ = round_trip.track(files, anno[0])
    np.testing.assert_array_equal(again, np.tile(anno[0], (60, 1)))
    with pytest.raises(PulBenchError, match="cannot load got10k tracker"):
        wrap("got10k.trackers:NoSuchTracker")


def test_downloads_fail_at_once(tmp_path: Path) -> None:
    with pytest.raises(PulBenchError, match="got10k tried to download .*never downloads"):
        OTB(str(tmp_path / "otb"), version=2015, download=True)
    with pytest.raises(PulBenchError, match="got10k tried to download"):
        ExperimentOTB(str(tmp_path / "otb2"), version=2013)
