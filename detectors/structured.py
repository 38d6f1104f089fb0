"""Flatten structured payloads into one scannable text with field paths.

Every string or number leaf becomes a segment ``<path>: <value>\\n``; the path sits right
before the value, so JSON/CSV field names act as context words, and one engine call scans
a whole record.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 64


def leaves(obj: Any, path: str = "", depth: int = 0) -> list[tuple[str, str]]:
    """``(field_path, text)`` for every string and number leaf, built by one recursive function (no generator
    chain per nesting level)."""
    out: list[tuple[str, str]] = []
    add = out.append

    def walk(o: Any, p: str, d: int) -> None:
        if d > MAX_DEPTH:
            return
        t = type(o)
        if t is str:
            if o:
                add((p, o))
        elif t is dict or isinstance(o, dict):
            for k, v in o.items():
                walk(v, f"{p}.{k}" if p else str(k), d + 1)
        elif t is list or isinstance(o, (list, tuple)):
            for i, v in enumerate(o):
                walk(v, f"{p}[{i}]", d + 1)
        elif isinstance(o, str):
            if o:
                add((p, str(o)))
        elif isinstance(o, (int, float)) and not isinstance(o, bool):
            add((p, str(o)))

    walk(obj, path, depth)
    return out


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
