"""Flatten structured payloads into one scannable text with field paths.

Every string or number leaf becomes a segment ``<path>: <value>\\n``; the path sits right
before the value, so JSON/CSV field names act as context words, and one engine call scans
a whole record.
"""

from __future__ import annotations

from typing import Any, Iterator

MAX_DEPTH = 64


def iter_leaves(obj: Any, path: str = "", depth: int = 0) -> Iterator[tuple[str, str]]:
    """Yield ``(field_path, text)`` for string and number leaves."""
    if depth > MAX_DEPTH:
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from iter_leaves(v, f"{path}.{k}" if path else str(k), depth + 1)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from iter_leaves(v, f"{path}[{i}]", depth + 1)
    elif isinstance(obj, str):
        if obj:
            yield path, obj
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield path, str(obj)


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
