"""Records of scannable inputs: JSONL, JSON, CSV and plain text, parsed into (source, line, id, data).

Pure parsing, no I/O: ``iter_records(name, raw_bytes, errors)`` yields one ``Record`` per input unit in order and
appends a ``file:line: reason`` message to ``errors`` for every unit it skips.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

csv.field_size_limit(min(sys.maxsize, 1 << 30))  # a long free-text field is data, not an error


@dataclass
class Record:
    """One unit of output."""

    source: str
    line: int
    id: Any
    data: Any  # str (plain text) or a JSON-like object


class InputError(Exception):
    """A problem with one line or file, reported as one line on stderr."""


def _kind(name: str, head: bytes) -> str:
    low = name.lower()
    if low.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if low.endswith(".csv"):
        return "csv"
    if low.endswith(".json"):
        return "json"
    if low.endswith((".txt", ".log", ".md")):
        return "text"
    stripped = head.lstrip()
    if stripped.startswith(b"{"):
        return "jsonl"
    if stripped.startswith(b"["):
        return "json"
    return "text"


def iter_records(name: str, raw: bytes, errors: list[str]) -> Iterator[Record]:
    """Records of one input, in order; bad lines are appended to ``errors`` and skipped."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        lineno = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{name}:{lineno}: not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    kind = _kind(name, raw[:64])
    if kind == "jsonl":
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"{name}:{n}: malformed JSON ({exc.msg} at column {exc.colno})")
                continue
            except RecursionError:
                errors.append(f"{name}:{n}: JSON nested too deep to parse")
                continue
            except ValueError as exc:  # e.g. an integer of more than 4,300 digits
                errors.append(f"{name}:{n}: unreadable JSON ({str(exc).split(':')[0][:80]})")
                continue
            if isinstance(obj, dict) and ("text" in obj or "payload" in obj):
                if "text" in obj and not isinstance(obj["text"], str):
                    errors.append(f'{name}:{n}: "text" must be a string')
                    continue
                yield Record(name, n, obj.get("id", n), obj["text"] if "text" in obj else obj["payload"])
            else:
                yield Record(name, n, n, obj)
    elif kind == "json":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{name}:{exc.lineno}: malformed JSON ({exc.msg})") from None
        except RecursionError:
            raise InputError(f"{name}:1: JSON nested too deep to parse") from None
        except ValueError as exc:
            raise InputError(f"{name}:1: unreadable JSON ({str(exc).splitlines()[0][:80]})") from None
        for i, item in enumerate(obj if isinstance(obj, list) else [obj], 1):
            yield Record(name, i, item.get("id", i) if isinstance(item, dict) else i, item)
    elif kind == "csv":
        reader = csv.DictReader(io.StringIO(text))
        try:
            if not reader.fieldnames:
                raise InputError(f"{name}: CSV without a header line")
        except csv.Error as exc:
            raise InputError(f"{name}:1: unreadable CSV header ({exc})") from None
        rows = iter(reader)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                break
            except csv.Error as exc:
                errors.append(f"{name}:{reader.line_num}: unreadable CSV ({exc}); the rest of the file is skipped")
                break
            n = reader.line_num
            if None in row:
                errors.append(f"{name}:{n}: more fields than the header")
                row.pop(None)
            yield Record(name, n, row.get("id", n), {k: v for k, v in row.items() if v})
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield Record(name, n, n, line)
