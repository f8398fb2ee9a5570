"""Shared fixtures: the real data folder (tests that need it skip, with the reason, if absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pul_bench.paths import REPO_ROOT
from pul_bench.paths import data_root as _data_root


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = _data_root(required=False)
    if root is None:
        why = "real data not found: set PULBENCH_DATA or place shared/data beside the repo"
        if os.environ.get("PULBENCH_REQUIRE_DATA") == "1":
            pytest.fail(why + " (PULBENCH_REQUIRE_DATA=1: CI must run every real-data test)")
        pytest.skip(why)
    return root


@pytest.fixture(scope="session")
def otb_sequences(data_root: Path) -> Path:
    return data_root / "sequences" / "otb"


@pytest.fixture(scope="session")
def otb_reference(data_root: Path) -> Path:
    return data_root / "reference" / "otb"


@pytest.fixture(scope="session")
def vot_sequences(data_root: Path) -> Path:
    return data_root / "sequences" / "vot"


@pytest.fixture(scope="session")
def vot2018_reference(data_root: Path) -> Path:
    return data_root / "reference" / "vot2018"


@pytest.fixture
def untrained_spec(tmp_path: Path, monkeypatch):
    """Register, for one test, a Siamese tracker whose checkpoint does not exist.

    Unlike the shipped specs, it stays untrained whatever weights get committed later.
    """

    def make(name: str, backbone: str, train: str) -> str:
        specs = tmp_path / "untrained-specs"
        specs.mkdir(exist_ok=True)
        base = {"alexnet": "siamfc", "ciresnet22": "siamdw"}[backbone]  # complete SiamFC args
        (specs / f"{base}.yaml").write_text((REPO_ROOT / "trackers" / f"{base}.yaml").read_text())
        (specs / f"{name}.yaml").write_text(
            f"name: {name}\ndescription: d\nextends: {base}\n"
            f"checkpoint: missing.pt\ntrain: {train}\n")
        monkeypatch.setenv("PULBENCH_TRACKERS", str(specs))
        return name

    return make
