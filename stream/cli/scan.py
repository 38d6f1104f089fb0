"""``piplwatch scan``: find Chinese personal information in files and directories.

Exit codes like grep: 0 nothing found (or nothing at or above ``--fail-on``), 1 found, 2 some input could not be
read (reported on stderr as ``file:line: reason``; everything else is still scanned).
"""

from __future__ import annotations

import itertools
import os
import sys
from typing import IO, TYPE_CHECKING, Any

from detectors.readers import BinaryFile, InputError, WalkStats, iter_records, load, walk
from detectors.redact import printable
from detectors.report import SEVERITIES, CsvWriter, JsonlWriter, SarifWriter, TableWriter, Writer, hits

if TYPE_CHECKING:
    from detectors import Scanner

PROGRESS_MIN_BYTES = 1 << 20


def _fail_rule(text: str | None) -> Any:
    """A predicate over hits for ``--fail-on`` (None: any finding fails)."""
    if not text:
        return None
    text = text.strip()
    if text.lower() in SEVERITIES:
        floor = SEVERITIES.index(text.lower())
        return lambda h: SEVERITIES.index(h.severity) >= floor
    from detectors import entity_names
    from detectors.taxonomy import NER_LABELS

    wanted = {e.strip() for e in text.split(",") if e.strip()}
    unknown = wanted - set(entity_names()) - set(NER_LABELS)
    if unknown:
        raise InputError(
            f"--fail-on: not a severity ({', '.join(SEVERITIES)}) or entity type: {', '.join(sorted(unknown))}"
        )
    return lambda h: h.finding.entity_type in wanted


def _writer(fmt: str, out: IO[str], scanner: Scanner) -> Writer:
    if fmt == "jsonl":
        return JsonlWriter(out)
    if fmt == "csv":
        return CsvWriter(out)
    if fmt == "sarif":
        from detectors.registry import detector_classes
        from detectors.taxonomy import NER_LABELS
        from stream import __version__

        descriptions = {c.ENTITY: (c.__doc__ or "").strip().splitlines()[0] for c in detector_classes()}
        descriptions.update({e: f"{e.title()} (field rules and the NER model)" for e in NER_LABELS})
        return SarifWriter(out, version=__version__, descriptions=descriptions)
    return TableWriter(out, color=out.isatty() and os.environ.get("NO_COLOR") is None)


def run(args: Any) -> int:
    """Execute ``piplwatch scan`` with parsed arguments."""
    from detectors import DetectorConfig, Scanner

    config = DetectorConfig.load(args.config) if args.config else DetectorConfig()
    entities = set(args.entities.split(",")) if args.entities else None
    if entities:
        from detectors import entity_names
        from detectors.taxonomy import NER_LABELS

        unknown = entities - set(entity_names()) - set(NER_LABELS)
        if unknown:
            raise InputError(f"--entities: unknown entity {', '.join(sorted(unknown))}")
    fail = _fail_rule(args.fail_on)
    ner = None
    if args.ner != "off" and config.ner:
        from detectors.ner import load_ner

        ner = load_ner(required=False)
    scanner = Scanner(config, ner=ner, ner_mode=args.ner)
    out: IO[str] = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout  # noqa: SIM115
    fmt = args.format or ("table" if out.isatty() else "jsonl")
    writer = _writer(fmt, out, scanner)
    stats = WalkStats()
    counts = {"records": 0, "errors": 0}
    found_any = failed = False
    try:
        for path in walk(args.paths or ["-"], args.include, args.exclude, stats):
            errors: list[str] = []
            try:
                name, text, kind = load(path)
            except BinaryFile as exc:
                if path in args.paths:  # named explicitly: an error; found in a directory: a counted note
                    print(f"piplwatch scan: {printable(str(exc))}", file=sys.stderr)
                    failed = True
                else:
                    stats.skipped_binary += 1
                continue
            except InputError as exc:
                print(f"piplwatch scan: {printable(str(exc))}", file=sys.stderr)
                failed = True
                continue
            bar = None
            if sys.stderr.isatty() and len(text) >= PROGRESS_MIN_BYTES and not args.quiet:
                from tqdm import tqdm

                bar = tqdm(total=text.count("\n") or None, unit="rec", desc=os.path.basename(name), file=sys.stderr)
            try:
                # scan_batch reads ahead a chunk of records (one NER pass per chunk); tee keeps them for the output
                records, data = itertools.tee(iter_records(name, text, kind, errors))
                for rec, findings in zip(
                    records, scanner.scan_batch((r.data for r in data), entities=entities, min_score=args.min_score)
                ):
                    counts["records"] += 1
                    if rec.envelope and isinstance(rec.id, str):  # an envelope's own id is scanned too
                        findings = scanner.scan({"id": rec.id}, entities=entities, min_score=args.min_score) + findings
                    # a record id that is itself personal information is not echoed: the line stands in for it
                    rid = rec.line if any(f.field == "id" for f in findings) else rec.id
                    found = hits(name, rec.line, rid, rec.text, findings)
                    if found and (fail is None or any(fail(h) for h in found)):
                        found_any = True
                    writer.record(name, rec.line, rid, found)
                    if bar is not None:
                        bar.update(1)
            except InputError as exc:
                errors.append(str(exc))
            if bar is not None:
                bar.close()
            for err in errors:
                print(f"piplwatch scan: {printable(err)}", file=sys.stderr)
            counts["errors"] += len(errors)
            failed = failed or bool(errors)
        writer.close(
            {
                "files": stats.files - stats.skipped_binary,
                "records": counts["records"],
                "skipped_binary": stats.skipped_binary,
                "ignored": stats.ignored,
                "errors": counts["errors"],
                "ner_mode": scanner.ner_mode if scanner.ner is not None and scanner.ner.nlp is not None else "off",
                "ner_chars": scanner.ner.stats.chars_to_ner if scanner.ner is not None else 0,
            }
        )
    finally:
        out.flush()
        if out is not sys.stdout:
            out.close()
    if stats.skipped_binary and fmt != "table":
        print(f"piplwatch scan: {stats.skipped_binary} binary file(s) skipped", file=sys.stderr)
    if failed:
        return 2
    return 1 if found_any else 0
