"""``pulbench vot-toolkit TRACKER``: the ``trackers.ini`` entry that lets vot-toolkit run it.

vot-toolkit starts the entry's command as a TraX server (:mod:`pul_bench.interop.trax`) with
this interpreter, so the tracker runs exactly as ``pulbench eval`` would create it.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

import click

from pul_bench.errors import PulBenchError
from pul_bench.io import write_text
from pul_bench.registry import get_spec


def ini_entry(tracker: str, checkpoint: Path | None = None, identifier: str | None = None,
              timeout: int = 60) -> str:
    """The ``[identifier]`` section for ``trackers.ini`` (identifier defaults to the name)."""
    get_spec(tracker)  # unknown names fail here, not inside vot-toolkit
    ident = identifier or re.sub(r"[^a-zA-Z0-9_-]", "_", tracker)
    if not re.fullmatch(r"[a-zA-Z0-9_-]+", ident):
        raise PulBenchError(f"vot-toolkit identifiers are letters, digits, - and _: {ident!r}")
    cmd = [sys.executable, "-m", "pul_bench.interop.trax", tracker]
    if checkpoint is not None:
        cmd += ["--checkpoint", str(Path(checkpoint).resolve())]
    lines = [f"[{ident}]", f"label = {tracker}", "protocol = trax",
             f"command = {shlex.join(cmd)}", f"timeout = {timeout}"]
    for var in ("PULBENCH_TRACKERS", "PULBENCH_DATA"):  # where the server finds specs and data
        if os.environ.get(var):
            lines.append(f"env_{var} = {os.environ[var]}")
    return "\n".join(lines) + "\n"


@click.command("vot-toolkit")
@click.argument("tracker")
@click.option("--checkpoint", type=click.Path(path_type=Path, dir_okay=False),
              help="Checkpoint overriding the tracker spec's.")
@click.option("--identifier", help="Section name in trackers.ini (default: the tracker name).")
@click.option("--write", "ini", type=click.Path(path_type=Path, dir_okay=False),
              help="Append the entry to this trackers.ini (replacing a section of that name).")
def vot_toolkit_cmd(tracker: str, checkpoint: Path | None, identifier: str | None,
                    ini: Path | None) -> None:
    """Print (or write) the vot-toolkit trackers.ini entry that runs TRACKER through TraX.

    \b
    Example, in a vot-toolkit 0.7.4 workspace:
      pulbench vot-toolkit csrt --write trackers.ini
      vot evaluate csrt && vot analysis csrt
    """
    entry = ini_entry(tracker, checkpoint, identifier)
    if ini is None:
        click.echo(entry, nl=False)
        return
    section = entry.splitlines()[0]
    old = ini.read_text() if ini.is_file() else ""
    kept = re.sub(rf"(?ms)^{re.escape(section)}\n.*?(?=^\[|\Z)", "", old).rstrip()
    write_text(ini, (kept + "\n\n" if kept else "") + entry)
    click.echo(f"wrote {section} to {ini}")
