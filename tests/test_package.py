"""The package installs and imports anywhere Python runs: no POSIX-only module at import time,
and what the code looks up by path (recipes, specs, manifests) ships inside a wheel."""

from __future__ import annotations

import ast
import configparser

from pul_bench.paths import REPO_ROOT

#: standard-library modules that exist only on POSIX systems (no Windows)
POSIX_ONLY = {"fcntl", "termios", "pwd", "grp", "resource", "posix", "tty", "pty", "syslog"}


def test_no_module_imports_a_posix_only_module() -> None:
    found = []
    for pkg in ("pul_bench", "pul_train"):
        for path in sorted((REPO_ROOT / pkg).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                found += [f"{path.relative_to(REPO_ROOT)}:{node.lineno} {n}" for n in names
                          if n.split(".")[0] in POSIX_ONLY]
    assert not found, found


def test_file_locks_come_from_a_declared_dependency() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(REPO_ROOT / "setup.cfg")
    requires = cfg["options"]["install_requires"].split()
    assert any(r.startswith("filelock") for r in requires), requires
