"""Flatten structured payloads into one scannable text with field paths.

Every string or number leaf becomes a segment ``<path>: <value>\\n``; the path sits right
before the value, so JSON/CSV field names act as context words, and one engine call scans
a whole record.
"""

from __future__ import annotations

import re
from typing import Any

#: Paths are written out in full down to this depth; deeper leaves are still scanned (iteratively, at any depth),
#: with the path kept to the ancestor at this depth, "…" and the leaf's own key (bounded, so a deeply nested payload
#: cannot make the scanned text grow with the square of its depth).
MAX_PATH_DEPTH = 64
#: a key longer than this is cut in paths (the leaf's value is still scanned whole)
MAX_KEY_CHARS = 128
ELLIPSIS = "\u2026"


_DATA_KEY = re.compile(r"[0-9０-９]{5}|@")
_key_kinds: dict[str, bool] = {}


def _value_like(key: str) -> bool:
    """Whether a dict key looks like data rather than a field name (five digits in a row, or an e-mail ``@``):
    such a key is scanned as a value and replaced in paths by ``<keyN>`` (its position), so paths, which outputs
    carry, never hold it."""
    kind = _key_kinds.get(key)
    if kind is None:
        kind = _DATA_KEY.search(key) is not None
        if len(_key_kinds) < 100_000:
            _key_kinds[key] = kind
    return kind


def leaves(obj: Any, path: str = "", depth: int = 0) -> list[tuple[str, str]]:
    """``(field_path, text)`` for every string and number leaf, in document order, at any depth: compiled
    (``_scan_core.flatten``), ``leaves_py`` where the core is not built and as the reference."""
    if _flatten is not None:
        return _flatten(obj, path, depth)
    return leaves_py(obj, path, depth)


def leaves_py(obj: Any, path: str = "", depth: int = 0) -> list[tuple[str, str]]:
    """``leaves`` in Python: the reference the compiled walk is tested against.

    One recursive function down to ``MAX_PATH_DEPTH`` (the common case: no generator chain per level), an explicit
    stack below it (no recursion limit).
    """
    out: list[tuple[str, str]] = []
    add = out.append

    def walk(o: Any, p: str, d: int) -> None:
        t = type(o)
        if t is str:
            if o:
                add((p, o))
        elif t is dict or isinstance(o, dict):
            if d >= MAX_PATH_DEPTH:
                _deep(o, p, add)
                return
            for i, (k, v) in enumerate(o.items()):
                k = str(k)
                if _value_like(k):  # a key that is itself data (a map keyed by phone or ID number)
                    name = f"{p}.<key{i}>" if p else f"<key{i}>"
                    add((name, k))  # scanned as a value; the path never carries it
                    walk(v, name, d + 1)
                    continue
                if len(k) > MAX_KEY_CHARS:
                    k = k[:MAX_KEY_CHARS] + ELLIPSIS
                walk(v, f"{p}.{k}" if p else k, d + 1)
        elif t is list or isinstance(o, (list, tuple)):
            if d >= MAX_PATH_DEPTH:
                _deep(o, p, add)
                return
            for i, v in enumerate(o):
                walk(v, f"{p}[{i}]", d + 1)
        elif isinstance(o, str):
            if o:
                add((p, str(o)))
        elif isinstance(o, (int, float)) and not isinstance(o, bool):
            add((p, str(o)))

    walk(obj, path, depth)
    return out


def _deep(obj: Any, anchor: str, add: Any) -> None:
    """Leaves of a subtree below ``MAX_PATH_DEPTH``, iteratively. A leaf's path is the anchor, "…", the number of
    its innermost list in document order, its index there and its own key: ``anchor…<3>[7].手机`` (records in
    different elements stay apart: subjects are grouped per record)."""
    stack: list[tuple[Any, int, str, str]] = [(obj, 0, "", "")]
    lists = 0
    while stack:
        o, chain, index, key = stack.pop()
        if isinstance(o, dict):
            items = []
            for j, (k, v) in enumerate(o.items()):
                k = str(k)
                if _value_like(k):
                    add((f"{anchor}{ELLIPSIS}<{chain}>{index}.<key{j}>", k))
                    items.append((v, chain, index, f".<key{j}>"))
                    continue
                items.append((v, chain, index, "." + (k[:MAX_KEY_CHARS] + ELLIPSIS if len(k) > MAX_KEY_CHARS else k)))
            stack.extend(reversed(items))
        elif isinstance(o, (list, tuple)):
            lists += 1
            stack.extend((v, lists, f"[{i}]", "") for i, v in reversed(list(enumerate(o))))
        elif isinstance(o, str):
            if o:
                add((f"{anchor}{ELLIPSIS}<{chain}>{index}{key}", o))
        elif isinstance(o, (int, float)) and not isinstance(o, bool):
            add((f"{anchor}{ELLIPSIS}<{chain}>{index}{key}", str(o)))


def generic_path(path: str) -> str:
    """``orders[3].phone`` -> ``orders[].phone`` (for comparing against allowed fields)."""
    out = []
    skip = False
    for ch in path:
        if ch == "[":
            skip = True
            out.append("[]")
        elif ch == "]":
            skip = False
        elif not skip:
            out.append(ch)
    return "".join(out)


def leaf_name(path: str) -> str:
    """The last key of a path: ``orders[0].收货人`` -> ``收货人``."""
    tail = path.rsplit(".", 1)[-1]
    return tail.split("[", 1)[0] or tail


try:  # last: the compiled core reads this module's constants and helpers
    from detectors._scan_core import flatten as _flatten
except ImportError:  # pragma: no cover - a build without the compiled core runs the reference
    _flatten = None
