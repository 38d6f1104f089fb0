"""``piplwatch scan``: find Chinese personal information in files (JSONL, CSV, JSON, plain text).

Exit codes like grep: 0 nothing found, 1 found, 2 error. A malformed line is reported on
stderr with file and line number and does not stop the rest of the file.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from typing import IO, Any

from detectors import DetectorConfig, Finding, Scanner
from detectors.readers import InputError, Record, iter_records

PROGRESS_MIN_BYTES = 1 << 20


def _open(path: str) -> tuple[str, IO[bytes]]:
    if path == "-":
        return "<stdin>", sys.stdin.buffer
    try:
        return path, open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None


def _table(rec: Record, findings: list[Finding], out: IO[str]) -> None:
    for f in findings:
        where = f"{rec.source}:{rec.line}"
        field = f.field or "-"
        out.write(
            f"{where:<24} {field:<20.20} {f.entity_type:<28} {f.score:>5.2f} {f.start:>5}-{f.end:<5} "
            f"{'masked ' if f.masked else ''}{f.preview}\n"
        )


def run(args: Any) -> int:
    """Execute ``piplwatch scan`` with parsed arguments."""
    config = DetectorConfig.load(args.config) if args.config else DetectorConfig()
    ner = None
    if not args.no_ner and config.ner:
        from detectors.ner import load_ner

        ner = load_ner(required=False)
    scanner = Scanner(config, ner=ner)
    entities = set(args.entities.split(",")) if args.entities else None
    if entities:
        from detectors import entity_names
        from detectors.taxonomy import NER_LABELS

        unknown = entities - set(entity_names()) - set(NER_LABELS)
        if unknown:
            raise InputError(f"--entities: unknown entity {', '.join(sorted(unknown))}")
    out = sys.stdout
    found_any = False
    failed = False
    if args.format == "table" and out.isatty():
        out.write(f"{'where':<24} {'field':<20} {'entity':<28} {'score':>5} {'span':<11} preview\n")
    for path in args.files or ["-"]:
        errors: list[str] = []
        try:
            name, fh = _open(path)
            with fh:
                raw = fh.read()
            records = iter_records(name, raw, errors)
            bar = None
            if sys.stderr.isatty() and len(raw) >= PROGRESS_MIN_BYTES and not args.quiet:
                from tqdm import tqdm

                bar = tqdm(total=raw.count(b"\n") or None, unit="rec", desc=os.path.basename(name), file=sys.stderr)
            # scan_batch reads ahead a chunk of records (one NER pass per chunk); tee keeps them for the output
            records, data = itertools.tee(records)
            for rec, findings in zip(
                records, scanner.scan_batch((r.data for r in data), entities=entities, min_score=args.min_score)
            ):
                found_any = found_any or bool(findings)
                if args.format == "jsonl":
                    out.write(
                        json.dumps({"id": rec.id, "findings": [f.to_dict() for f in findings]}, ensure_ascii=False)
                        + "\n"
                    )
                else:
                    _table(rec, findings, out)
                if bar is not None:
                    bar.update(1)
            if bar is not None:
                bar.close()
        except InputError as exc:
            print(f"piplwatch scan: {exc}", file=sys.stderr)
            failed = True
        for err in errors:
            print(f"piplwatch scan: {err}", file=sys.stderr)
        failed = failed or bool(errors)
    out.flush()
    if failed:
        return 2
    return 1 if found_any else 0
