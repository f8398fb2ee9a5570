"""Backbone checkpoints: one documented file format with provenance, checked when loaded.

Format (a ``torch.save`` file, read back with ``weights_only=True``, so loading runs no code)::

    {
      "format": "pul_bench.checkpoint",
      "version": 1,
      "meta": {
        "architecture": "alexnet" | "ciresnet22",   # required: backbone name
        "recipe": "...", "data": "...",             # what trained it (free text or paths)
        "git_revision": "<sha>", "date": "<ISO 8601 UTC>",
        "dtype": "float16" | "float32",             # how the weights are stored
        "sha256": "<hex>",                          # of the weights, see weights_sha256()
        ...                                         # anything else the trainer adds (scores)
      },
      "state_dict": {name: tensor},                 # the backbone's own keys, no prefix
    }

``fp16=True`` stores floating tensors as float16 (half the size; committed reference weights use
it); :func:`load_checkpoint` always returns float32. The weights' sha256 is recomputed on load,
so a truncated or altered file is an :class:`InputError`, never a silently wrong tracker.

Reference checkpoints committed under ``trackers/weights/`` are listed in its ``MANIFEST.yaml``
(file sha256, weights sha256, architecture, recipe, data, scores; read by the strict schema
reader, :class:`ManifestEntry`); :func:`update_manifest` writes an entry and
:func:`verify_manifest` checks the folder against it. Its ``uncommitted`` section lists, in the
same form, checkpoints trained but kept out of git (training seeds 2 and 3, the Fig. 6 grid; their
``file`` is relative to the manifest's folder, e.g. ``../../runs/weights/alexpul-bd-s2.pt``): their
sha256 is what identifies the committed raw results that stand in for them in the reports.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from pul_bench import schema
from pul_bench.errors import InputError, PulBenchError
from pul_bench.io import atomic_path, file_sha256
from pul_bench.paths import REPO_ROOT

FORMAT = "pul_bench.checkpoint"
VERSION = 1
_INIT_PREFIXES = ("module.", "backbone.", "features.")


def weights_sha256(state_dict: Mapping[str, torch.Tensor]) -> str:
    """Hash of names, dtypes, shapes and bytes in key order: independent of pickling details."""
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def git_revision() -> str:
    """The checkout's commit (``+dirty`` if it has uncommitted changes), or ``unknown``."""
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + ("+dirty" if dirty.strip() else "")


def save_checkpoint(path: str | Path, state_dict: Mapping[str, torch.Tensor],
                    meta: dict[str, Any], fp16: bool = False) -> dict[str, Any]:
    """Atomically write a checkpoint; returns the full metadata that was stored.

    ``meta`` must name the ``architecture``; ``git_revision`` and ``date`` are filled in when
    absent, ``dtype`` and ``sha256`` always.
    """
    if not isinstance(meta.get("architecture"), str):
        raise ValueError("checkpoint meta needs an 'architecture' (backbone name)")
    sd = {}
    for k, v in state_dict.items():
        t = v.detach().cpu().clone()
        sd[k] = t.half() if fp16 and t.is_floating_point() else t
    full = dict(meta)
    full.setdefault("git_revision", git_revision())
    full.setdefault("date", _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    full["dtype"] = "float16" if fp16 else "float32"
    full["sha256"] = weights_sha256(sd)
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, "version": VERSION, "meta": full, "state_dict": sd}, tmp)
    return full


def _torch_load(path: Path) -> Any:
    if not path.is_file():
        raise InputError(path, "checkpoint file not found")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a bad file; all mean the same here
        raise InputError(path, f"not a readable PyTorch weights file (corrupt or truncated?): "
                               f"{type(e).__name__}: {str(e).splitlines()[0][:200]}") from None


def load_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read and verify a checkpoint written by :func:`save_checkpoint`: (float32 weights, meta)."""
    path = Path(path)
    obj = _torch_load(path)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise InputError(path, "not a pul_bench checkpoint (no 'format' marker); a plain "
                               "state_dict such as ImageNet weights belongs in --init")
    if obj.get("version") != VERSION:
        raise InputError(path, f"checkpoint version {obj.get('version')!r}, this pul_bench "
                               f"reads version {VERSION}")
    meta, sd = obj.get("meta"), obj.get("state_dict")
    if not isinstance(meta, dict) or not isinstance(sd, dict) or not all(
            isinstance(v, torch.Tensor) for v in sd.values()):
        raise InputError(path, "checkpoint lacks 'meta' or a tensor 'state_dict'")
    if weights_sha256(sd) != meta.get("sha256"):
        raise InputError(path, "weights do not match the sha256 stored with them (corrupt file)")
    weights = {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}
    return weights, meta


def stored_weights_sha256(path: str | Path) -> str | None:
    """The sha256 of a pul_bench checkpoint's tensors as stored with them (checked against the
    tensors whenever the file is loaded), or None for a file of another format. It identifies
    the weights: the file's own sha256 also covers the date and revision it was saved with."""
    try:
        obj = _torch_load(Path(path))
    except InputError:
        return None
    meta = obj.get("meta") if isinstance(obj, dict) and obj.get("format") == FORMAT else None
    sha = meta.get("sha256") if isinstance(meta, dict) else None
    return sha if isinstance(sha, str) else None


def apply_state_dict(module: nn.Module, state_dict: Mapping[str, torch.Tensor],
                     path: str | Path) -> None:
    """Load weights that must match ``module`` exactly; a mismatch names keys and the file."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state_dict))
    extra = sorted(set(state_dict) - set(own))
    shapes = sorted(k for k in set(own) & set(state_dict)
                    if own[k].shape != state_dict[k].shape)
    if missing or extra or shapes:
        parts = [f"{label} {keys[:4]}{' ...' if len(keys) > 4 else ''}"
                 for label, keys in (("missing", missing), ("unexpected", extra),
                                     ("wrong shape", shapes)) if keys]
        raise InputError(path, f"weights do not fit {type(module).__name__}: "
                               + "; ".join(parts))
    module.load_state_dict(state_dict)


def load_backbone_init(path: str | Path,
                       backbone: nn.Module | None = None) -> dict[str, torch.Tensor]:
    """Read a user-supplied initialisation (e.g. ImageNet-pretrained weights) for ``--init``.

    Accepts a plain state_dict, a dict holding one under ``state_dict``/``model``/``net``, or a
    pul_bench checkpoint; ``module.``/``backbone.``/``features.`` prefixes are stripped. With
    ``backbone``, the tensors whose names and shapes fit are loaded into it (a classifier head
    in the file is ignored) and a file that fits nothing, or a same-named tensor with another
    shape, is an :class:`InputError`. Returns the tensors that were (or would be) used.
    """
    path = Path(path)
    obj = _torch_load(path)
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        obj = load_checkpoint(path)[0]
    for key in ("state_dict", "model", "net"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not obj or not all(
            isinstance(v, torch.Tensor) for v in obj.values()):
        raise InputError(path, "expected a state_dict (names -> tensors)")
    sd: dict[str, torch.Tensor] = {}
    for name, t in obj.items():
        for prefix in _INIT_PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix):]
        sd[name] = t.float() if t.is_floating_point() else t
    if backbone is None:
        return sd
    own = backbone.state_dict()
    bad = sorted(k for k in sd if k in own and own[k].shape != sd[k].shape)
    if bad:
        raise InputError(path, f"init tensors with the wrong shape for "
                               f"{type(backbone).__name__}: {bad[:4]}")
    used = {k: v for k, v in sd.items() if k in own}
    if not used:
        raise InputError(path, f"no tensor in the init file fits {type(backbone).__name__} "
                               f"(first names: {sorted(sd)[:4]})")
    backbone.load_state_dict(used, strict=False)
    return used


def update_manifest(manifest: str | Path, name: str, checkpoint: str | Path,
                    scores: dict[str, Any] | None = None,
                    section: str = "weights") -> dict[str, Any]:
    """Record (or replace) ``name``'s entry for ``checkpoint`` in ``section`` of ``manifest``
    (``weights``: a file beside it; ``uncommitted``: anywhere, named relative to it); atomic.

    Without ``scores`` the entry keeps the scores it had, if the file is unchanged."""
    if section not in SECTIONS:
        raise PulBenchError(f"manifest section {section!r}: use one of {', '.join(SECTIONS)}")
    manifest, checkpoint = Path(manifest), Path(checkpoint)
    _, meta = load_checkpoint(checkpoint)
    doc = _read_manifest(manifest)
    old = doc[section].get(name, {})
    sha = file_sha256(checkpoint)
    if scores is None and old.get("sha256") == sha:
        scores = old.get("scores")
    file = checkpoint.name if section == "weights" else \
        Path(os.path.relpath(checkpoint.resolve(), manifest.parent.resolve())).as_posix()
    doc[section][name] = {
        "file": file, "sha256": sha, "weights_sha256": meta["sha256"],
        "architecture": meta["architecture"], "dtype": meta["dtype"],
        "recipe": meta.get("recipe"), "data": meta.get("data"),
        "git_revision": meta.get("git_revision"), "date": meta.get("date"),
        "scores": scores or {}}
    if not doc["uncommitted"]:
        del doc["uncommitted"]
    with atomic_path(manifest) as tmp:
        tmp.write_text(_MANIFEST_HEADER + yaml.safe_dump(doc, sort_keys=True))
    return doc[section][name]


def listed_sha256(manifest: str | Path, name: str) -> str | None:
    """The sha256 ``manifest`` lists for checkpoint ``name`` (either section), None if none."""
    doc = _read_manifest(Path(manifest))
    entry = doc["weights"].get(name) or doc["uncommitted"].get(name) or {}
    return entry.get("sha256")


def verify_manifest(manifest: str | Path) -> list[str]:
    """Problems between a manifest and the ``.pt`` files beside it (empty when consistent); an
    uncommitted checkpoint may be absent, but one that is present must match its sha256."""
    manifest = Path(manifest)
    doc = _read_manifest(manifest)
    problems = [f"{name}: {manifest.parent / entry['file']} does not match its sha256"
                for name, entry in doc["uncommitted"].items()
                if (manifest.parent / entry["file"]).is_file()
                and file_sha256(manifest.parent / entry["file"]) != entry["sha256"]]
    entries = doc["weights"]
    listed = set()
    for name, entry in entries.items():
        f = manifest.parent / str(entry.get("file"))
        listed.add(f.name)
        if not f.is_file():
            problems.append(f"{name}: {f} is missing")
        elif file_sha256(f) != entry.get("sha256"):
            problems.append(f"{name}: {f} does not match its sha256")
    for f in sorted(manifest.parent.glob("*.pt")):
        if f.name not in listed:
            problems.append(f"{f} is not listed in {manifest}")
    return problems


_MANIFEST_HEADER = """\
# Reference checkpoints (format: pul_bench/checkpoint.py), one entry per trackers/weights/*.pt;
# under `uncommitted`, checkpoints kept out of git (other training seeds, Fig. 6), whose raw
# results are committed in reports/runs/ instead.
# Written by pul_bench.checkpoint.update_manifest; checked by verify_manifest in the tests.
"""

SECTIONS = ("weights", "uncommitted")


@dataclasses.dataclass(frozen=True)
class ManifestEntry:
    """One checkpoint's entry in ``MANIFEST.yaml``: what :func:`update_manifest` writes."""

    file: str = schema.bounded(nonempty=True)
    sha256: str = schema.bounded(nonempty=True)
    weights_sha256: str = schema.bounded(nonempty=True)
    architecture: str = schema.bounded(nonempty=True)
    dtype: str = schema.bounded(choices=("float16", "float32"))
    recipe: str | None = None
    data: str | None = None
    git_revision: str | None = None
    date: str | None = None
    scores: dict[str, Any] = dataclasses.field(default_factory=dict)


def _read_manifest(manifest: Path) -> dict[str, Any]:
    """The manifest as ``{section: {name: entry}}`` for both :data:`SECTIONS` (entries keep
    only the keys written), read by the strict schema reader: a duplicate key or a wrongly typed
    value names file and line."""
    doc: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    if not manifest.is_file():
        return doc
    top = schema.keys(schema.load(manifest), "manifest", allowed=SECTIONS,
                      required=("weights",))
    for section, entries in top.items():
        for name, node in schema.keys(entries, section).items():
            entry = schema.read_dataclass(node, ManifestEntry, f"{section}.{name}")
            doc[section][name] = {key: getattr(entry, key) for key in schema.keys(node, name)}
    return doc
