"""The one strict YAML reader behind tracker specs, benchmark manifests, report and training
recipes, so that every bad file fails the same way: an :class:`InputError` naming the file and
line ("FILE:LINE: key must be ...").

Values are read from YAML nodes, which remember where they came from. A value's schema is its
Python type hint (``int``, ``float``, ``bool``, ``str``, ``list[int]``, ``tuple[int, int]``,
``str | None``, ``dict[str, float]``, a dataclass, or ``yaml.Node`` to keep the node for later)
plus the bounds in a dataclass field's metadata (:func:`bounded`). Duplicate keys are refused
anywhere in a file, unknown keys in every mapping read as a dataclass; booleans must be
``true``/``false`` and a string is never taken for a list. A ``ValueError`` raised by a
dataclass's ``__post_init__`` becomes an error at its mapping's line.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import types
import typing
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from pul_bench.errors import InputError, PulBenchError
from pul_bench.paths import name_problem, repeated

#: the file name given to values that came from ``--set KEY=VALUE`` on the command line
SET_PREFIX = "--set "
_SEQUENCES = (list, tuple, collections.abc.Sequence)
_MAPPINGS = (dict, collections.abc.Mapping)


def bounded(default: Any = dataclasses.MISSING, *, lo: float | None = None,
            hi: float | None = None, above: bool = False,
            choices: Collection[Any] | None = None,
            nonempty: bool = False, increasing: bool = False, filename: bool = False,
            distinct: bool = False, path: bool = False, unbounded: str = "",
            default_factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field with limits :func:`read` enforces; on a list or mapping they apply to
    each item (``lo``/``hi``: inclusive, but ``above`` makes ``lo`` exclusive; ``nonempty``: a
    non-blank string or a list with items; ``increasing``: strictly;
    ``filename``: a name that becomes a file or folder under ``--out``,
    :func:`pul_bench.paths.name_problem`; ``distinct``: a list without repeats; ``path``: a file
    path, which a ``--set`` value gives relative to the working folder, as any command-line path,
    and is made absolute here: a file's relative paths keep the base its reader gives them).
    Every number in a config has ``lo``, ``hi`` or ``choices``, or says in ``unbounded`` why it
    needs none (tests/test_schema_bounds.py checks)."""
    return dataclasses.field(default=default, default_factory=default_factory, metadata={
        "lo": lo, "hi": hi, "above": above, "choices": choices, "nonempty": nonempty,
        "increasing": increasing, "filename": filename, "distinct": distinct, "path": path,
        "unbounded": unbounded})


def out_of_bounds(obj: Any) -> str | None:
    """Why a dataclass instance built in code breaks its fields' ``lo``/``hi``/``choices``
    (:func:`bounded`), or None: the check :func:`read` makes, for a config not read from YAML."""
    for f in dataclasses.fields(obj):
        meta, value = f.metadata, getattr(obj, f.name)
        values = value.values() if isinstance(value, dict) else \
            value if isinstance(value, list | tuple) else [value]
        for v in values:
            if v is not None and (why := _limit_problem(v, meta)):
                return f"{f.name} {why}, got {v!r}"
    return None


def _limit_problem(value: Any, meta: Mapping[str, Any]) -> str | None:
    """How ``value`` breaks the ``choices``, ``lo`` and ``hi`` in ``meta``, or None."""
    if meta.get("choices") and value not in meta["choices"]:
        return f"must be one of {list(meta['choices'])}"
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and (value <= lo if meta.get("above") else value < lo):
        return f"must be {'>' if meta.get('above') else '>='} {lo}"
    if hi is not None and value > hi:
        return f"must be <= {hi}"
    return None


def load(path: str | Path, text: str | None = None) -> yaml.Node:
    """The node tree of one YAML document (read from ``path`` unless ``text`` is given)."""
    path = Path(path)
    if text is None:
        try:
            text = path.read_text()
        except OSError as e:
            raise InputError(path, f"cannot read ({e.strerror})") from None
    loader = yaml.SafeLoader(text)
    loader.name = str(path)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise InputError(path, f"invalid YAML: {getattr(e, 'problem', None) or e}",
                         None if mark is None else mark.line + 1) from None
    finally:
        loader.dispose()
    if node is None:
        raise InputError(path, "empty file")
    _refuse(node, set())
    return node


#: the tags a plain-data reader knows (str, int, map, timestamp, ...); any other tag, such as
#: ``!!python/object/apply:os.system``, is refused before any value is built
_DATA_TAGS = frozenset(t for t in yaml.constructor.SafeConstructor.yaml_constructors if t)


def _refuse(node: yaml.Node, seen: set[int]) -> None:
    """Refuse duplicate keys and non-data tags anywhere in ``node``, naming their line."""
    if id(node) in seen:  # an alias: already checked
        return
    seen.add(id(node))
    if node.tag not in _DATA_TAGS:
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        raise fail(node, f"YAML tag {tag!r} is not allowed: only plain data (no objects, "
                         f"nothing executed) is read")
    if isinstance(node, yaml.MappingNode):
        names: set[str] = set()
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                if k.value in names:
                    raise fail(k, f"duplicate key {k.value!r}")
                names.add(k.value)
            _refuse(k, seen)
            _refuse(v, seen)
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            _refuse(v, seen)


def fail(node: yaml.Node, message: str) -> InputError:
    """The error for a bad ``node``: its file and line (a ``--set`` value: the option)."""
    name = node.start_mark.name
    if name.startswith(SET_PREFIX):
        return InputError(name, message)
    return InputError(name, message, node.start_mark.line + 1)


def plain(node: yaml.Node) -> Any:
    """The node as plain Python data, unchecked."""
    return yaml.constructor.SafeConstructor().construct_document(node)


def keys(node: yaml.Node, what: str, allowed: Iterable[str] | None = None,
         required: Iterable[str] = ()) -> dict[str, yaml.Node]:
    """A mapping's value nodes by key; with ``allowed``, any other key is an error."""
    if not isinstance(node, yaml.MappingNode):
        raise fail(node, f"{what} must be a mapping, got {plain(node)!r}")
    allowed = None if allowed is None else sorted(allowed)
    out: dict[str, yaml.Node] = {}
    for k, v in node.value:
        if not isinstance(k, yaml.ScalarNode):
            raise fail(k, f"{what}: keys must be names")
        if allowed is not None and k.value not in allowed:
            raise fail(k, f"unknown key {k.value!r} in {what}; allowed: {allowed}")
        out[k.value] = v
    missing = [key for key in required if key not in out]
    if missing:
        raise fail(node, f"{what} lacks required key(s) {missing}")
    return out


def read_fields(node: yaml.Node, cls: type, what: str,
                skip: Collection[str] = ()) -> dict[str, Any]:
    """The keys ``node`` gives, read as dataclass ``cls``'s fields (but ``skip``)."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and f.name not in skip}
    hints = typing.get_type_hints(cls)
    return {key: read(v, hints[key], f"{what}.{key}", fields[key].metadata)
            for key, v in keys(node, what, fields).items()}


def read_dataclass(node: yaml.Node, cls: type, what: str, **fixed: Any) -> Any:
    """An instance of dataclass ``cls`` from a mapping node (fields without a default are
    required); ``fixed`` fields are given by the caller, never read from the file."""
    kwargs = {**read_fields(node, cls, what, skip=fixed), **fixed}
    missing = [f.name for f in dataclasses.fields(cls)
               if f.init and f.name not in kwargs
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise fail(node, f"{what} lacks required key(s) {missing}")
    try:
        return cls(**kwargs)
    except ValueError as e:
        raise fail(node, f"{what}: {e}") from None


def without(node: yaml.Node, *names: str) -> yaml.Node:
    """A mapping node without the keys ``names`` (read apart, such as a recipe's task section)."""
    return yaml.MappingNode(node.tag, [(k, v) for k, v in node.value if k.value not in names],
                            node.start_mark, node.end_mark)


def read(node: yaml.Node, hint: Any, what: str, meta: Mapping[str, Any] | None = None) -> Any:
    """The value of ``node`` as type ``hint``, within the limits in ``meta`` (see :func:`bounded`).

    Hints this reader does not know (``Any``, other classes) take the plain value unchecked.
    """
    meta = meta or {}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is yaml.Node:
        return node
    if origin in (typing.Union, types.UnionType):
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null") \
                and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        for a in options[:-1]:  # str | Path: the first type that takes the value
            try:
                return read(node, a, what, meta)
            except InputError:
                pass
        return read(node, options[-1], what, meta)
    if dataclasses.is_dataclass(hint):
        return read_dataclass(node, hint, what)
    if origin in _SEQUENCES:
        return _sequence(node, hint, what, meta)
    if origin in _MAPPINGS:
        value_hint = args[1] if args else Any
        return {k: read(v, value_hint, f"{what}.{k}", meta) for k, v in keys(node, what).items()}
    if hint not in (bool, int, float, str, Path):
        return plain(node)
    raw = plain(node)
    ok = {bool: isinstance(raw, bool), str: isinstance(raw, str), Path: isinstance(raw, str),
          int: isinstance(raw, int) and not isinstance(raw, bool),
          float: isinstance(raw, int | float) and not isinstance(raw, bool)}[hint]
    if not ok:
        raise fail(node, f"{what} must be {_name(hint)}, got {raw!r}")
    value = float(raw) if hint is float else Path(raw) if hint is Path else raw
    if meta.get("nonempty") and isinstance(raw, str) and not raw.strip():
        raise fail(node, f"{what} must not be empty")
    if meta.get("path") and isinstance(value, str) and node.start_mark.name.startswith(SET_PREFIX):
        given = Path(value).expanduser()
        value = str(given if given.is_absolute() else Path.cwd() / given)
    if meta.get("filename") and (why := name_problem(raw)):
        raise fail(node, f"{what} {raw!r} {why}: it names a file or folder, so it must be a "
                   "plain name")
    if why := _limit_problem(value, meta):
        raise fail(node, f"{what} {why}, got {raw!r}")
    return value


def _sequence(node: yaml.Node, hint: Any, what: str, meta: Mapping[str, Any]) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if not isinstance(node, yaml.SequenceNode):
        raw = plain(node)
        hint_text = "; write a YAML list, e.g. [a, b]" if isinstance(raw, str) else ""
        raise fail(node, f"{what} must be {_name(hint)}, got {raw!r}{hint_text}")
    fixed = origin is tuple and args and args[-1] is not Ellipsis
    if fixed and len(node.value) != len(args):
        raise fail(node, f"{what} must be {_name(hint)}, got {len(node.value)} items")
    items = [read(n, args[i] if fixed else (args[0] if args else Any), f"{what}[{i}]", meta)
             for i, n in enumerate(node.value)]
    if meta.get("nonempty") and not items:
        raise fail(node, f"{what} must not be empty")
    if meta.get("distinct") and len(set(items)) < len(items):
        twice = repeated(items)
        raise fail(node, f"{what} names {', '.join(twice)} more than once")
    if meta.get("increasing") and any(a >= b for a, b in zip(items, items[1:], strict=False)):
        raise fail(node, f"{what} must increase, got {items}")
    return list(items) if origin is list else tuple(items)


def _name(hint: Any) -> str:
    """How a type is named in an error: ``int``, ``a list of str``, ``tuple[int, int]``."""
    if isinstance(hint, type):
        return hint.__name__
    args = typing.get_args(hint)
    if typing.get_origin(hint) in _SEQUENCES and args and args[1:] in ((), (...,)):
        return f"a list of {_name(args[0])}"
    return str(hint).replace("typing.", "").replace("collections.abc.", "")


def override(root: yaml.Node, item: str) -> None:
    """Apply one ``section.key=value`` (``--set``) to a node tree before it is read, so a
    command-line value is checked exactly like one in the file."""
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise PulBenchError(f"--set {item!r}: expected KEY=VALUE, e.g. supervised.noise_px=20")
    loader = yaml.SafeLoader(value)
    loader.name = f"{SET_PREFIX}{item}"
    try:
        leaf = loader.get_single_node()
    except yaml.YAMLError as e:
        raise PulBenchError(f"--set {item!r}: invalid YAML value ({e})") from None
    finally:
        loader.dispose()
    if leaf is not None:
        _refuse(leaf, set())
    node, parts = root, key.strip().split(".")
    for i, part in enumerate(parts):
        if not isinstance(node, yaml.MappingNode):
            raise PulBenchError(f"--set {item!r}: {'.'.join(parts[:i])} is not a section")
        last = i == len(parts) - 1
        new = (leaf or yaml.ScalarNode("tag:yaml.org,2002:null", "", loader.get_mark())) \
            if last else yaml.MappingNode("tag:yaml.org,2002:map", [], loader.get_mark())
        index = next((j for j, (k, _) in enumerate(node.value) if k.value == part), None)
        if index is None:
            node.value.append((yaml.ScalarNode("tag:yaml.org,2002:str", part,
                                               new.start_mark), new))
        elif last:
            node.value[index] = (node.value[index][0], new)
        else:
            new = node.value[index][1]
        node = new
