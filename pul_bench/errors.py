"""One error type for bad input, so the CLI can print it in one line and exit non-zero."""

from __future__ import annotations

import errno
from pathlib import Path


class PulBenchError(Exception):
    """A user-facing error: bad input, missing data, unknown name. Never a bug."""


class InputError(PulBenchError):
    """Bad content in a file; names the file and (1-based) line so the user can fix it."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.message = message
        self.line = line
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[type[InputError], tuple[Path, str, int | None]]:
        """Rebuild from the constructor's arguments, so the error crosses process pools."""
        return type(self), (self.path, self.message, self.line)


#: what an OS error on an output or cache path means, in the user's words
_OS_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "disk full (no space left on device)",
    errno.EDQUOT: "disk quota exceeded",
    errno.EISDIR: "is a directory, where a file is needed",
    errno.ENOENT: "no such file or directory",
}


def os_error(e: OSError, path: str | Path | None = None) -> PulBenchError:
    """One line for an OS error on a file or folder: which path and what is wrong with it.

    ``path`` names the file where the error does not (a write that fills the disk has no file
    name) or names only a temporary file beside it. A "not a directory" error names the file
    that stands where a folder is needed.
    """
    name = path if path is not None else e.filename
    if name is None or isinstance(name, int):
        return PulBenchError(f"{e.strerror or e}")
    where = Path(name.decode() if isinstance(name, bytes) else name)
    if e.errno in (errno.ENOTDIR, errno.EEXIST):
        blocker = next((p for p in (where, *where.parents) if p.exists() and not p.is_dir()),
                       None)
        if blocker is not None:
            shown = "" if blocker == where else f"{blocker} "
            return PulBenchError(f"{where}: {shown}is a file, where a directory is needed")
        if e.errno == errno.EEXIST:
            return PulBenchError(f"{where}: file exists")
    reason = _OS_REASONS.get(e.errno) or (e.strerror or str(e)).lower()
    return PulBenchError(f"{where}: {reason}")


class RowCountError(InputError):
    """A result file with more or fewer rows than its sequence has frames. Apart from a broken
    file, the usual cause is scoring results against other annotations than they were made on
    (another ``--root``), which the commands then say."""
