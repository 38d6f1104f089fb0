"""Redacted copies of files: Presidio's anonymizer job for Chinese identifiers, offline, structure kept.

Operators per entity type: ``mask`` (the masked preview reports show, e.g. ``110*************2X``: a few characters
stay, so a resident ID masked so is still reported by ``piplwatch scan`` as a masked identifier, de-identified rather
than anonymised under PIPL), ``mask-all`` (every letter and digit becomes ``*``; length and separators stay, nothing
of the value is left), ``hash`` (the keyed HMAC,
``<CN_MOBILE:3f2a...>``, joinable with the workers' key), ``replace`` (a type tag, ``<CN_MOBILE>``) and ``drop``
(the value removed). Plain text, JSON Lines, JSON and CSV/TSV keep their structure: only the characters of each
finding inside a string value change (a whole numeric value that is an identifier becomes a string).
"""

from __future__ import annotations

import collections
import csv
import io
import json
import re
from collections.abc import Iterable
from typing import Any

from detectors.base import Finding
from detectors.readers import ENVELOPE_KEYS
from detectors.structured import leaves as flatten_leaves

OPERATORS = ("mask", "mask-all", "hash", "replace", "drop")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _dumps(obj: Any, **kw: Any) -> str:
    """JSON with readable UTF-8, but a lone surrogate (from a ``\\ud800`` escape in the input, which UTF-8 cannot
    carry) written back as its escape, so the output stays the input's value and can be written out."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(obj, ensure_ascii=False, **kw))


def replacement(f: Finding, operator: str, span: str) -> str:
    if operator == "mask":
        return f.preview
    if operator == "mask-all":
        return "".join("*" if c.isalnum() else c for c in span)
    if operator == "hash":
        return f"<{f.entity_type}:{f.hmac}>"
    if operator == "replace":
        return f"<{f.entity_type}>"
    return ""


def redact_string(
    value: str,
    findings: Iterable[Finding],
    ops: dict[str, str],
    default: str,
    changed: collections.Counter[tuple[str, str]],
) -> str:
    """``value`` with each finding's span replaced by its operator's output (overlaps: the first wins)."""
    out, last = [], 0
    for f in sorted(findings, key=lambda f: f.start):
        if f.start < last:
            continue
        op = ops.get(f.entity_type, default)
        out.append(value[last : f.start])
        out.append(replacement(f, op, value[f.start : f.end]))
        changed[(f.entity_type, op)] += 1
        last = f.end
    out.append(value[last:])
    return "".join(out)


def redact_object(
    obj: Any, findings: list[Finding], ops: dict[str, str], default: str, changed: collections.Counter[tuple[str, str]]
) -> Any:
    """A copy of a JSON-like object with findings replaced inside the leaves their field paths name."""
    by_path: dict[str, list[Finding]] = collections.defaultdict(list)
    for f in findings:
        if f.field is not None:
            by_path[f.field].append(f)
    if not by_path:
        return obj
    targets = {path: value for path, value in flatten_leaves(obj) if path in by_path}

    def walk(o: Any, p: str, keys: dict[str, str]) -> Any:
        if isinstance(o, dict):
            res = {}
            for i, (k, v) in enumerate(o.items()):
                sk = str(k)
                child = f"{p}.{sk}" if p else sk
                data_key = f"{p}.<key{i}>" if p else f"<key{i}>"
                if data_key in targets and sk == targets[data_key]:  # a key that is itself data
                    new_k = redact_string(sk, by_path[data_key], ops, default, changed)
                    res[new_k] = walk(v, data_key, keys)
                else:
                    res[k] = walk(v, child, keys)
            return res
        if isinstance(o, list):
            return [walk(v, f"{p}[{i}]", keys) for i, v in enumerate(o)]
        if p in targets and (isinstance(o, str) or (isinstance(o, (int, float)) and not isinstance(o, bool))):
            s = o if isinstance(o, str) else str(o)
            if s == targets[p]:
                return redact_string(s, by_path[p], ops, default, changed)
        return o

    return walk(obj, "", {})


def redact_text_file(
    text: str, kind: str, scan: Any, ops: dict[str, str], default: str, changed: collections.Counter[tuple[str, str]]
) -> str:
    """The redacted copy of a whole file's text (``scan(data) -> findings``)."""
    if kind == "jsonl":
        lines = []
        for line in text.splitlines(keepends=True):
            body = line.rstrip("\r\n")
            try:
                obj = json.loads(body) if body.strip() else None
            except (ValueError, RecursionError):
                obj = None
            if obj is None:
                lines.append(redact_string(body, scan(body), ops, default, changed) + line[len(body) :])
                continue
            if isinstance(obj, dict) and isinstance(obj.get("text"), str) and set(obj) <= ENVELOPE_KEYS:
                obj["text"] = redact_string(obj["text"], scan(obj["text"]), ops, default, changed)
                if isinstance(obj.get("id"), str):  # an id can be personal information too
                    obj["id"] = redact_string(obj["id"], scan(obj["id"]), ops, default, changed)
            else:
                obj = redact_object(obj, scan(obj), ops, default, changed)
            lines.append(_dumps(obj) + line[len(body) :])
        return "".join(lines)
    if kind == "json":
        obj = json.loads(text)
        return _dumps(redact_object(obj, scan(obj), ops, default, changed), indent=2) + "\n"
    if kind in ("csv", "tsv"):
        delim = "\t" if kind == "tsv" else ","
        rows = list(csv.reader(io.StringIO(text), delimiter=delim))
        if not rows:
            return text
        out = io.StringIO()
        w = csv.writer(out, delimiter=delim, lineterminator="\n")
        header = rows[0]
        w.writerow(header)
        for row in rows[1:]:
            rec = {h: v for h, v in zip(header, row) if v}
            red = redact_object(rec, scan(rec), ops, default, changed)
            w.writerow(
                [red.get(h, v) if i < len(header) else v for i, (h, v) in enumerate(itertools_zip_longest(header, row))]
            )
        return out.getvalue()
    return "".join(
        redact_string(line.rstrip("\r\n"), scan(line.rstrip("\r\n")), ops, default, changed)
        + line[len(line.rstrip("\r\n")) :]
        for line in text.splitlines(keepends=True)
    )


def itertools_zip_longest(header: list[str], row: list[str]) -> list[tuple[str, str]]:
    """(column name, value) per cell of ``row``: cells past the header keep an empty name."""
    return [(header[i] if i < len(header) else "", v) for i, v in enumerate(row)]
