"""What ``piplwatch scan`` and ``piplwatch redact`` read: files and directories, parsed into records.

- ``walk(paths, include, exclude)`` yields the files to read: named files as given; directories recursively, in
  sorted order, honouring ``.gitignore`` and ``.piplwatchignore`` files (gitignore syntax, scoped to their directory)
  and ``--include``/``--exclude`` globs; ``.git`` directories are skipped.
- ``load(path)`` reads one file (``.gz`` decompressed, bounded), refuses binary content, and names its format from the
  file name (``.jsonl``/``.ndjson``, ``.json``, ``.csv``, ``.tsv``, else plain text; unknown names are sniffed).
- ``iter_records(name, text, kind, errors)`` yields one ``Record`` per unit (a JSONL line, a JSON array element, a
  CSV row, a text line) with the line it starts on; a unit it cannot read is appended to ``errors`` as
  ``file:line: reason`` and skipped, and the rest is still read.
"""

from __future__ import annotations

import csv
import fnmatch
import gzip
import io
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

csv.field_size_limit(min(sys.maxsize, 1 << 30))  # a long free-text field is data, not an error

IGNORE_FILES = (".gitignore", ".piplwatchignore")
MAX_FILE_BYTES = 1 << 30  # decompressed; a bigger file (or a gzip bomb) is reported, not read
KINDS = ("jsonl", "json", "csv", "tsv", "text")
#: a JSONL line with only these keys is an envelope: its "text" (or "payload") is the record; any other key makes
#: the whole object the record, so a field next to "text" is never skipped
ENVELOPE_KEYS = frozenset({"id", "text", "payload"})


@dataclass
class Record:
    """One unit of input: where it starts (``line``), its id, and its data (str for text, else JSON-like)."""

    source: str
    line: int
    id: Any
    data: Any
    #: plain-text records: findings' offsets are columns in ``line`` (structured ones carry a field path instead)
    text: bool = False
    #: a JSONL envelope: ``id`` is beside the data, not part of it (so it is scanned on its own)
    envelope: bool = False


class InputError(Exception):
    """A problem with a whole file, reported as one line on stderr."""


class BinaryFile(InputError):
    """A file that is not text (skipped with a note when found in a directory)."""


@dataclass
class WalkStats:
    files: int = 0
    skipped_binary: int = 0
    ignored: int = 0
    names: list[str] = field(default_factory=list)


def _ignore_spec(directory: Path) -> Any:
    import pathspec

    lines: list[str] = []
    for name in IGNORE_FILES:
        p = directory / name
        if p.is_file():
            try:
                lines += p.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
    return pathspec.PathSpec.from_lines("gitwildmatch", lines) if lines else None


def _matches(globs: list[str], rel: str) -> bool:
    base = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(base, g) for g in globs)


def walk(
    paths: list[str], include: list[str] | None = None, exclude: list[str] | None = None, stats: WalkStats | None = None
) -> Iterator[str]:
    """The files to read, in order: ``-`` and named files as given, directories recursively (see module doc)."""
    include, exclude = include or [], exclude or []
    stats = stats if stats is not None else WalkStats()
    for p in paths:
        if p == "-" or not os.path.isdir(p):
            stats.files += 1
            yield p
            continue
        root = Path(p)
        specs: dict[Path, Any] = {}
        for dirpath, dirnames, filenames in os.walk(root):
            d = Path(dirpath)
            specs[d] = _ignore_spec(d)
            dirnames[:] = sorted(n for n in dirnames if n != ".git" and not _ignored(specs, root, d / n, True))
            for name in sorted(filenames):
                f = d / name
                rel = f.relative_to(root).as_posix()
                if name in IGNORE_FILES:
                    continue
                if _ignored(specs, root, f, False):
                    stats.ignored += 1
                    continue
                if (include and not _matches(include, rel)) or _matches(exclude, rel):
                    stats.ignored += 1
                    continue
                stats.files += 1
                yield str(f)


def _ignored(specs: dict[Path, Any], root: Path, path: Path, is_dir: bool) -> bool:
    """Whether an ignore file in ``path``'s directory or any directory above it (up to ``root``) excludes it."""
    d = path.parent
    while True:
        spec = specs.get(d)
        if spec is not None:
            rel = path.relative_to(d).as_posix() + ("/" if is_dir else "")
            if spec.match_file(rel):
                return True
        if d == root or d == d.parent:
            return False
        d = d.parent


def load(path: str) -> tuple[str, str, str]:
    """(display name, text, kind) of one input; raises ``InputError`` (``BinaryFile`` for non-text content)."""
    if path == "-":
        raw, name = sys.stdin.buffer.read(), "<stdin>"
    else:
        name = path
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise InputError(f"{path}: is a directory") from None
        except PermissionError:
            raise InputError(f"{path}: permission denied") from None
        except OSError as exc:
            raise InputError(f"{path}: {exc.strerror}") from None
    inner = name
    if name.lower().endswith(".gz") or raw[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as gz:
                raw = gz.read(MAX_FILE_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise InputError(f"{name}: not a readable gzip file ({exc})") from None
        inner = name[:-3] if name.lower().endswith(".gz") else name
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(f"{name}: larger than {MAX_FILE_BYTES >> 20} MiB; split it")
    if b"\x00" in raw[:8192]:
        raise BinaryFile(f"{name}: binary file skipped")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BinaryFile(f"{name}:{line}: not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    return name, text, _kind(inner, text[:64])


def _kind(name: str, head: str) -> str:
    low = name.lower()
    if low.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if low.endswith(".csv"):
        return "csv"
    if low.endswith(".tsv"):
        return "tsv"
    if low.endswith(".json"):
        return "json"
    if low.endswith((".txt", ".log", ".md")):
        return "text"
    stripped = head.lstrip()
    if stripped.startswith("{"):
        return "jsonl"
    if stripped.startswith("["):
        return "json"
    return "text"


def _loads(text: str) -> Any:
    """``json.loads`` whose failures are ValueError (RecursionError and over-long integers included)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deep to parse") from None


def _reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"malformed JSON ({exc.msg} at column {exc.colno})"
    return f"unreadable JSON ({str(exc).split(':')[0][:80]})"


def iter_records(name: str, text: str, kind: str, errors: list[str]) -> Iterator[Record]:
    """Records of one input, in order; bad units are appended to ``errors`` and skipped."""
    if kind == "jsonl":
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = _loads(line)
            except ValueError as exc:
                errors.append(f"{name}:{n}: {_reason(exc)}")
                continue
            if isinstance(obj, dict) and ("text" in obj or "payload" in obj) and set(obj) <= ENVELOPE_KEYS:
                if "text" in obj and not isinstance(obj["text"], str):
                    errors.append(f'{name}:{n}: "text" must be a string')
                    continue
                if "text" in obj:  # offsets are into the decoded string, not columns of the line
                    yield Record(name, n, obj.get("id", n), obj["text"], envelope=True)
                else:
                    yield Record(name, n, obj.get("id", n), obj["payload"], envelope=True)
            else:  # any other shape, or an envelope with more fields: every leaf is scanned (nothing hides)
                yield Record(name, n, obj.get("id", n) if isinstance(obj, dict) else n, obj)
    elif kind == "json":
        yield from _json_records(name, text, errors)
    elif kind in ("csv", "tsv"):
        yield from _csv_records(name, text, "\t" if kind == "tsv" else ",", errors)
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield Record(name, n, n, line, text=True)


def _json_records(name: str, text: str, errors: list[str]) -> Iterator[Record]:
    """A JSON document: each element of a top-level array is a record, with the line it starts on."""
    stripped = text.lstrip()
    if not stripped.startswith("["):
        try:
            obj = _loads(text)
        except ValueError as exc:
            line = exc.lineno if isinstance(exc, json.JSONDecodeError) else 1
            raise InputError(f"{name}:{line}: {_reason(exc)}") from None
        yield Record(name, 1, obj.get("id", 1) if isinstance(obj, dict) else 1, obj)
        return
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    i = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text):
            raise InputError(f"{name}:{text.count(chr(10), 0, pos) + 1}: malformed JSON (unterminated array)")
        if text[pos] == "]":
            return
        line = text.count("\n", 0, pos) + 1
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except RecursionError:
            raise InputError(f"{name}:{line}: JSON nested too deep to parse") from None
        except ValueError as exc:
            raise InputError(f"{name}:{line}: {_reason(exc)}") from None
        i += 1
        yield Record(name, line, obj.get("id", i) if isinstance(obj, dict) else i, obj)


def _csv_records(name: str, text: str, delimiter: str, errors: list[str]) -> Iterator[Record]:
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    try:
        if not reader.fieldnames:
            raise InputError(f"{name}: CSV without a header line")
    except csv.Error as exc:
        raise InputError(f"{name}:1: unreadable CSV header ({exc})") from None
    rows = iter(reader)
    start = reader.line_num + 1
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(f"{name}:{reader.line_num}: unreadable CSV ({exc}); the rest of the file is skipped")
            break
        if None in row:
            errors.append(f"{name}:{start}: more fields than the header")
            row.pop(None)
        yield Record(name, start, row.get("id", start), {k: v for k, v in row.items() if v})
        start = reader.line_num + 1
