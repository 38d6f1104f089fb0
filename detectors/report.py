"""How ``piplwatch scan`` reports findings: JSON lines, CSV, SARIF 2.1.0, or a table for people.

Every format carries the masked preview and the keyed HMAC of a value, never the value itself. Each finding has
its file and line; plain-text findings have a column, structured ones a field path.
"""

from __future__ import annotations

import collections
import csv
import json
import unicodedata
from dataclasses import dataclass
from typing import IO, Any

import orjson

from detectors.base import Finding
from detectors.redact import printable

SEVERITIES = ("low", "medium", "high")
#: a finding's severity, from its sensitivity class (what ``--fail-on`` and SARIF levels use)
SEVERITY = {"spi": "high", "spi_equivalent": "high", "pi": "medium", "pi_deidentified": "low", "organisational": "low"}
SARIF_LEVEL = {"high": "error", "medium": "warning", "low": "note"}
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


@dataclass(frozen=True)
class Hit:
    """One finding where it was found."""

    file: str
    line: int
    column: int | None  # 1-based, plain text only
    record_id: Any
    finding: Finding

    @property
    def severity(self) -> str:
        return SEVERITY.get(self.finding.sensitivity, "medium")

    def location(self) -> str:
        return f"{self.file}:{self.line}" + (f":{self.column}" if self.column else "")


def hits(file: str, line: int, record_id: Any, text: bool, findings: list[Finding]) -> list[Hit]:
    """The hits of one record (``text``: a plain-text line, whose offsets are columns)."""
    return [Hit(file, line, f.start + 1 if text and f.field is None else None, record_id, f) for f in findings]


def width(text: str) -> int:
    """Terminal columns of ``text``: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, cols: int) -> str:
    return text + " " * max(0, cols - width(text))


def cut(text: str, cols: int) -> str:
    """``text`` cut to at most ``cols`` terminal columns (with an ellipsis when cut)."""
    if width(text) <= cols:
        return text
    out, used = [], 0
    for c in text:
        w = 2 if unicodedata.east_asian_width(c) in "WF" else 1
        if used + w > cols - 1:
            break
        out.append(c)
        used += w
    return "".join(out) + "…"


class Writer:
    """Base: ``record`` is called per input record, ``close`` at the end (with the run's statistics)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.counts: collections.Counter[str] = collections.Counter()

    def record(self, file: str, line: int, record_id: Any, found: list[Hit]) -> None:
        for h in found:
            self.counts[h.finding.entity_type] += 1

    def close(self, stats: dict[str, Any]) -> None:
        pass


class JsonlWriter(Writer):
    """One line per input record: ``{"file", "line", "id", "findings": [...]}`` (in input order)."""

    def record(self, file: str, line: int, record_id: Any, found: list[Hit]) -> None:
        super().record(file, line, record_id, found)
        fs = []
        for h in found:
            d = h.finding.to_dict()
            if h.column:
                d["column"] = h.column
            fs.append(d)
        self.out.write(_json_line({"file": file, "line": line, "id": record_id, "findings": fs}) + "\n")


def _json_line(obj: dict[str, Any]) -> str:
    """One JSON line: orjson (5x the standard library's speed on a big export's findings); the standard library,
    ASCII-escaped, for what orjson refuses (an id that is an integer beyond 64 bits or holds a lone surrogate)."""
    try:
        return orjson.dumps(obj, default=str).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(obj, default=str, separators=(",", ":"))


CSV_COLUMNS = ("file", "line", "column", "field", "entity_type", "severity", "score", "preview", "masked", "hmac")


class CsvWriter(Writer):
    """One row per finding (``CSV_COLUMNS``)."""

    def __init__(self, out: IO[str]) -> None:
        super().__init__(out)
        self.w = csv.writer(out)
        self.w.writerow(CSV_COLUMNS)

    def record(self, file: str, line: int, record_id: Any, found: list[Hit]) -> None:
        super().record(file, line, record_id, found)
        for h in found:
            f = h.finding
            self.w.writerow(
                (
                    file,
                    line,
                    h.column or "",
                    f.field or "",
                    f.entity_type,
                    h.severity,
                    f"{f.score:.2f}",
                    f.preview,
                    "true" if f.masked else "false",
                    f.hmac,
                )
            )


class TableWriter(Writer):
    """Aligned columns for a terminal (East Asian wide characters count double), a per-entity summary at the end,
    colour only when ``color``. Rows are buffered in blocks so that widths fit them."""

    HEAD = ("LOCATION", "FIELD", "ENTITY", "SCORE", "PREVIEW")
    MAX = (0, 28, 26, 5, 40)  # 0: never cut (a location must stay usable)
    COLOR = {"high": "\033[31m", "medium": "\033[33m", "low": "\033[36m"}
    BLOCK = 2000

    def __init__(self, out: IO[str], *, color: bool = False) -> None:
        super().__init__(out)
        self.color = color
        self.rows: list[tuple[tuple[str, ...], str]] = []
        self.header_done = False

    def record(self, file: str, line: int, record_id: Any, found: list[Hit]) -> None:
        super().record(file, line, record_id, found)
        for h in found:
            f = h.finding
            cells = (
                printable(h.location()),
                printable(f.field or "-"),
                f.entity_type,
                f"{f.score:.2f}",
                printable(("masked " if f.masked else "") + f.preview),
            )
            self.rows.append((tuple(cut(c, m) if m else c for c, m in zip(cells, self.MAX)), h.severity))
        if len(self.rows) >= self.BLOCK:
            self._flush()

    def _flush(self) -> None:
        widths = [max([width(h) for h in self.HEAD] + [width(r[0][i]) for r in self.rows]) for i in range(5)]
        if not self.header_done:
            self.out.write("  ".join(pad(h, w) for h, w in zip(self.HEAD, widths)).rstrip() + "\n")
            self.header_done = True
        for cells, sev in self.rows:
            line = "  ".join(pad(c, w) for c, w in zip(cells, widths)).rstrip()
            if self.color:
                ent = pad(cells[2], widths[2])
                line = line.replace(ent, f"{self.COLOR[sev]}{ent}\033[0m", 1)
            self.out.write(line + "\n")
        self.rows = []

    def close(self, stats: dict[str, Any]) -> None:
        if self.rows:
            self._flush()
        total = sum(self.counts.values())
        self.out.write(
            f"\n{total} finding{'s' * (total != 1)} in {stats.get('records', 0)} records of "
            f"{stats.get('files', 0)} file(s)"
        )
        extra = [f"{stats[k]} {k.replace('_', ' ')}" for k in ("skipped_binary", "ignored", "errors") if stats.get(k)]
        self.out.write(("; " + ", ".join(extra) if extra else "") + "\n")
        if stats.get("ner_mode", "off") != "off":
            self.out.write(f"NER ({stats['ner_mode']}): {stats.get('ner_chars', 0):,} characters read by the model\n")
        if total:
            w = max(width(e) for e in self.counts)
            for entity, n in self.counts.most_common():
                self.out.write(f"  {pad(entity, w)}  {n:>7}\n")


class SarifWriter(Writer):
    """A SARIF 2.1.0 log (one run): a rule per entity type with its description and help, a result per finding
    with its physical location (file, line, column for plain text) and the masked preview as the message."""

    def __init__(self, out: IO[str], *, version: str, descriptions: dict[str, str]) -> None:
        super().__init__(out)
        self.version = version
        self.descriptions = descriptions
        self.results: list[dict[str, Any]] = []

    def record(self, file: str, line: int, record_id: Any, found: list[Hit]) -> None:
        super().record(file, line, record_id, found)
        for h in found:
            f = h.finding
            region: dict[str, Any] = {"startLine": max(1, line)}
            if h.column:
                region["startColumn"] = h.column
                region["endColumn"] = h.column + (f.end - f.start)
            where = f" in field {f.field}" if f.field else ""
            res: dict[str, Any] = {
                "ruleId": f.entity_type,
                "level": SARIF_LEVEL[h.severity],
                "message": {"text": f"{f.entity_type} {f.preview}{where}"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(file)}, "region": region}}],
                "partialFingerprints": {"piplwatchValueHmac/v1": f.hmac},
                "properties": {
                    "score": f.score,
                    "masked": f.masked,
                    "sensitivity": f.sensitivity,
                    "category": f.category,
                    **({"field": f.field} if f.field else {}),
                },
            }
            if f.field:
                res["locations"][0]["logicalLocations"] = [{"fullyQualifiedName": f.field, "kind": "member"}]
            self.results.append(res)

    def close(self, stats: dict[str, Any]) -> None:
        from detectors.taxonomy import classify

        rules = []
        for entity, text in sorted(self.descriptions.items()):
            category, sensitivity = classify(entity)
            sev = SEVERITY.get(sensitivity, "medium")
            rules.append(
                {
                    "id": entity,
                    "name": "".join(w.capitalize() for w in entity.lower().split("_")),
                    "shortDescription": {"text": f"{entity.replace('_', ' ').title()} ({category}, {sensitivity})"},
                    "fullDescription": {"text": text or entity},
                    "help": {
                        "text": f"{text} Personal information of sensitivity '{sensitivity}'. Remove it, mask it, "
                        f"or make sure its transfer is authorised (PIPL Art. 13, 23, 28-29)."
                    },
                    "defaultConfiguration": {"level": SARIF_LEVEL[sev]},
                    "properties": {
                        "category": category,
                        "sensitivity": sensitivity,
                        "tags": ["privacy", "pii", "PIPL"],
                    },
                }
            )
        log = {
            "$schema": SARIF_SCHEMA,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "piplwatch",
                            "version": self.version,
                            "semanticVersion": self.version,
                            "informationUri": "https://github.com/piplwatch/piplwatch",
                            "rules": rules,
                        }
                    },
                    "results": self.results,
                    "columnKind": "unicodeCodePoints",
                    "properties": dict(stats),
                }
            ],
        }
        json.dump(log, self.out, ensure_ascii=False, indent=1)
        self.out.write("\n")


def _uri(file: str) -> str:
    """A relative path as a relative URI reference (what code-scanning dashboards resolve against the checkout), an
    absolute one as a ``file:`` URI."""
    from pathlib import Path
    from urllib.parse import quote

    if Path(file).is_absolute():
        return Path(file).as_uri()
    return quote(file.replace("\\", "/").removeprefix("./"), safe="/:@")
