"""Where real data, specs and manifests live, without hard-coding a checkout layout."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pul_bench.errors import PulBenchError

#: Repository root when running from a checkout or an editable install.
REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_ENV = "PULBENCH_DATA"


def data_root(required: bool = True) -> Path | None:
    """The shared real-data folder: ``$PULBENCH_DATA``, else ``../shared/data`` beside the repo."""
    env = os.environ.get(DATA_ENV)
    candidates = [Path(env)] if env else []
    candidates += [REPO_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    if required:
        raise PulBenchError(
            f"real data not found: set {DATA_ENV} or pass --root (looked in "
            + ", ".join(str(c) for c in candidates) + ")"
        )
    return None


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be one file or folder name inside an output folder, or None.

    Tracker, benchmark, sequence, report and section names become parts of paths under
    ``--out``: a separator or ``..`` would write outside it, a leading dot would hide the
    file (hidden files are not results), an empty name would write into the parent."""
    if not name.strip():
        return "is empty"
    if any(c in name for c in "/\\\0"):
        return "holds '/', '\\' or a NUL"
    if name.startswith("."):
        return "starts with '.'"
    return None


def safe_name(name: str, what: str) -> str:
    """``name``, if it can name one file or folder under ``--out`` (:func:`name_problem`);
    the check every name from a command line, spec, manifest or recipe passes."""
    why = name_problem(name)
    if why is not None:
        raise PulBenchError(f"{what} {name!r} {why}: it names a file or folder under --out, "
                            "so it must be a plain name")
    return name


def repeated(names: Sequence[Any]) -> list[str]:
    """The names that occur more than once in ``names``, sorted (empty when all differ)."""
    return sorted({str(n) for n in names if names.count(n) > 1})


def require_distinct_trackers(names: Sequence[str]) -> None:
    """Result folders name their trackers, so two folders of one name cannot be told apart."""
    twice = repeated(names)
    if twice:
        raise PulBenchError(f"result folders must have distinct names (tracker names): "
                            f"{', '.join(twice)} given twice")


def resource_dirs(kind: str) -> list[Path]:
    """Folders holding ``kind`` ('trackers', 'datasets' or 'reports') YAML files, most specific
    first.

    ``$PULBENCH_<KIND>`` (os.pathsep-separated) comes first, then the checkout, then the
    copy a wheel installs under ``<prefix>/share/pul_bench`` (setup.cfg's data_files;
    scripts/check_wheel.sh checks it).
    """
    dirs: list[Path] = []
    env = os.environ.get(f"PULBENCH_{kind.upper()}")
    if env:
        dirs += [Path(p) for p in env.split(os.pathsep) if p]
    dirs += [REPO_ROOT / kind, Path(sys.prefix) / "share" / "pul_bench" / kind]
    seen: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in seen:
            seen.append(d.resolve())
    return seen
