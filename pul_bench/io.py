"""Atomic writes, strict JSON, portable file locks and locked JSON updates, file hashes, strict
numeric-table reading, progress (a bar on a terminal, a line per finished item off one), notes
and status lines: the file and terminal plumbing shared by every command, and the one channel
for library messages."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from filelock import BaseFileLock, FileLock
from tqdm import tqdm

from pul_bench.errors import InputError, os_error

_SPLIT = re.compile(r"[,\t ;]+")
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds.

    A killed run therefore leaves either the old file or the complete new one, never a half file.
    An OS error on it (a folder where the file goes, a file where a folder goes, no permission,
    a full disk) is raised as one :class:`PulBenchError` naming ``path``.
    """
    path = Path(path)
    tmp_path: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; results should be shareable
        yield tmp_path
        os.replace(tmp_path, path)
    except OSError as e:
        raise os_error(e, path if _about(e, path) else None) from None
    finally:
        if tmp_path is not None and tmp_path.exists():
            tmp_path.unlink()


def _about(e: OSError, path: Path) -> bool:
    """Whether ``e`` concerns writing ``path``: it names no file, ``path`` or a folder above
    it, or the temporary file beside it (not some other file the caller's block read)."""
    if e.filename is None:
        return True
    name = Path(os.path.abspath(os.fsdecode(e.filename)))
    target = Path(os.path.abspath(path))
    return name == target or name in target.parents or (
        name.parent == target.parent and name.name.startswith(f".{path.name}."))


def write_text(path: str | Path, text: str) -> None:
    """Atomically write ``text`` to ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def finite(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float (numpy scalars included) replaced by None: JSON
    has no NaN, and a score that cannot be computed is ``null`` there."""
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def json_text(obj: Any) -> str:
    """``obj`` as indented, strictly valid JSON (NaN and infinities become ``null``): what every
    ``--json`` output and JSON file of pul_bench is written with."""
    return json.dumps(finite(obj), indent=2, allow_nan=False)


def write_json(path: str | Path, obj: Any) -> None:
    """Atomically write ``obj`` as indented, strictly valid JSON (:func:`json_text`)."""
    write_text(path, json_text(obj) + "\n")


def update_json(path: str | Path, fn: Callable[[Any], Any]) -> Any:
    """Replace the JSON in ``path`` by ``fn(old)`` under an exclusive lock; return the new value.

    ``old`` is ``{}`` when the file does not exist yet. Writers in other
    processes (two evals sharing one ``--out``) wait on the lock file ``.<name>.lock`` beside
    it, so none of their updates is lost; the write itself stays atomic for readers.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(path.with_name(f".{path.name}.lock")):
        old: Any = {}
        if path.is_file():
            try:
                old = json.loads(path.read_text())
            except json.JSONDecodeError as e:
                raise InputError(path, f"not valid JSON: {e.msg}", e.lineno) from None
        new = fn(old)
        write_json(path, new)
        return new


def file_lock(path: str | Path) -> BaseFileLock:
    """An exclusive lock on the file ``path`` (created as needed, never deleted here) that works
    on every OS (``filelock``: flock on POSIX, msvcrt on Windows); one object per holder, held
    by the process, not one thread: ``acquire(timeout=0)`` only tries. Created group-writable
    where the umask allows, so the people sharing a results folder can all lock it."""
    return FileLock(path, mode=0o666 & ~_UMASK, thread_local=False)


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes: what identifies a checkpoint, whatever its path."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Progress(tqdm):
    """A tqdm bar on a terminal; off one (a log, a pipe), one plain line per finished item.

    Redirected, tqdm would write every update as a new line (200 kB for one eval), and a silent
    bar says nothing for minutes; so off a terminal the bar is hidden and each finished item (a
    sequence, an epoch, a report section: :meth:`finished`, called by iteration itself for a bar
    over items, labelled by the postfix the loop body set) prints ``desc: unit k/N [label] done,
    T s elapsed``. A ``leave=False`` bar (one nested in another) prints no lines.
    """

    def __init__(self, *args: Any, item: str | None = None, items: int | None = None,
                 items_done: int = 0, **kwargs: Any) -> None:
        """tqdm's arguments; where the bar counts something finer than the items it reports
        (frames of sequences, pairs of shards), ``item`` names the items, ``items`` is their
        number and ``items_done`` how many were done before (a resumed run)."""
        shown = not kwargs.get("disable", False)
        self.lines = shown and not sys.stderr.isatty() and kwargs.get("leave", True) is not False
        kwargs["disable"] = not shown or not sys.stderr.isatty()
        if item is None:  # the bar's own units are the items
            iterable = args[0] if args else kwargs.get("iterable")
            items = kwargs.get("total")
            if items is None and hasattr(iterable, "__len__"):
                items = len(iterable)
            items_done = int(kwargs.get("initial") or 0)
        self.what = (kwargs.get("desc") or "", item or kwargs.get("unit") or "item", items)
        self.count = items_done
        self.started = time.monotonic()
        super().__init__(*args, **kwargs)

    def __iter__(self) -> Iterator[Any]:
        for obj in super().__iter__():
            yield obj  # the caller's loop body runs here; its postfix labels the line
            self.finished(str(getattr(self, "postfix", None) or ""))

    def finished(self, label: str = "") -> None:
        """Say that one item is done: a line off a terminal (nothing on one, where the bar
        shows it)."""
        self.count += 1
        if not self.lines:
            return
        desc, unit, total = self.what
        of = f"/{total}" if total else ""
        name = f" {label}" if label else ""
        status(f"{desc}: {unit} {self.count}{of}{name} done, "
               f"{time.monotonic() - self.started:.1f} s elapsed")


def progress_bar(*args: Any, **kwargs: Any) -> Progress:
    """A :class:`Progress` bar (tqdm's arguments): a bar on a terminal, one line per finished
    item off one. ``disable=True`` from the caller silences both."""
    return Progress(*args, **kwargs)


def status(message: str) -> None:
    """Say what long work did or where it put its output (``results in ...``, ``resuming ...``,
    an item finished): one plain line on stderr, above any progress bar. With :func:`note`, the
    one channel for library messages; stdout stays for a command's result."""
    tqdm.write(message, file=sys.stderr)


_NOTED: set[str] = set()


def note(message: str) -> None:
    """Tell the user something that is not an error (a file scored by a toolkit's rule, a
    sequence left out): one ``note:`` line on stderr, above any progress bar, never a Python
    source line as ``warnings`` prints. A note already given in this process is not repeated
    (two loaders reading one folder must not say the same thing twice)."""
    if message not in _NOTED:
        _NOTED.add(message)
        status(f"note: {message}")


def read_table(
    path: str | Path, columns: int | tuple[int, ...], allow_nan: bool = True
) -> np.ndarray:
    """Read a text table of numbers (comma, tab, space or semicolon separated; CRLF tolerated).

    ``columns`` is the allowed column count(s). Blank lines at the end are ignored; a blank line
    inside the table, a non-numeric cell or a wrong column count raises :class:`InputError`
    naming the file and 1-based line. Rows with fewer columns than the widest allowed count are
    padded with NaN only if that narrower count is itself allowed.
    """
    path = Path(path)
    allowed = (columns,) if isinstance(columns, int) else tuple(columns)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except OSError as e:
        raise InputError(path, f"cannot read: {e.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(path, "not a UTF-8 text file") from None
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    width = max(allowed)
    out = np.full((len(lines), width), np.nan, dtype=np.float64)
    for i, line in enumerate(lines):
        cells = [c for c in _SPLIT.split(line.strip()) if c]
        if len(cells) not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise InputError(path, f"expected {want} values, found {len(cells)}: {line!r}", i + 1)
        try:
            vals = [float(c) for c in cells]
        except ValueError:
            raise InputError(path, f"non-numeric value in {line!r}", i + 1) from None
        if not allow_nan and not np.all(np.isfinite(vals)):
            raise InputError(path, f"NaN or infinite value in {line!r}", i + 1)
        out[i, : len(vals)] = vals
    return out
