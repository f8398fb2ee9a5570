"""One error type for bad input, so the CLI can print it in one line and exit non-zero."""

from __future__ import annotations

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


class RowCountError(InputError):
    """A result file with more or fewer rows than its sequence has frames. Apart from a broken
    file, the usual cause is scoring results against other annotations than they were made on
    (another ``--root``), which the commands then say."""
