"""``piplwatch consents import``: validate consent and agreement files and produce them to their topics."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stream.cli.common import kafka_options, settings_from


def add_commands(sub: Any) -> None:
    """Register ``consents import``."""
    c = sub.add_parser("consents", help="consent and agreement records")
    csub = c.add_subparsers(dest="consents_cmd", metavar="{import}")
    imp = csub.add_parser(
        "import",
        help="load consents or agreements from CSV or JSONL into their topic",
        description="Validate every record and produce the valid ones, keyed so that compaction keeps exactly the "
        "latest consent per (subject, recipient) and the latest agreement per recipient. Consent keys are keyed "
        "HMACs of the subject, so the workers' HMAC key is needed; --hash-subjects also replaces the subject in "
        "the record by its HMAC, so the topic holds no raw identifier (the production path).",
    )
    imp.add_argument(
        "file", metavar="FILE", help="a .csv (one subject column) or .jsonl file of consent.v1/agreement.v1"
    )
    imp.add_argument("--kind", choices=("consents", "agreements"), default=None, help="default: from the records")
    imp.add_argument(
        "--hash-subjects",
        action="store_true",
        help="write each consent's subject as its keyed HMAC ({'key': ...}): no raw mobile or ID number on the topic",
    )
    imp.add_argument(
        "--hmac-key-file",
        default=os.environ.get("PIPLWATCH_HMAC_KEY_FILE"),
        help="the workers' HMAC key file (env PIPLWATCH_HMAC_KEY_FILE), needed for consents",
    )
    kafka_options(imp)
    imp.set_defaults(func=cmd_consents_import)


def _import_rows(path: Path, fh: Any) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, record or None, error) per record of a consents/agreements CSV or JSONL file, lazily."""
    import csv
    import json

    from stream.records import AGREEMENT_SCHEMA, CONSENT_SCHEMA, CONSENT_SUBJECT_KINDS

    if path.suffix.lower() != ".csv":
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield n, json.loads(line), None
                except json.JSONDecodeError as exc:
                    yield n, None, f"malformed JSON ({exc.msg})"
        return
    reader = csv.DictReader(fh)
    for row in reader:
        rec: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
        for listy in ("purposes", "categories", "allowed_categories", "allowed_purposes", "allowed_fields"):
            if listy in rec:
                rec[listy] = [x.strip() for x in rec[listy].split(";") if x.strip()]
        kinds = [k for k in CONSENT_SUBJECT_KINDS if k in rec]
        if kinds:
            rec["subject"] = {kinds[0]: rec.pop(kinds[0])}
        if "max_subjects_per_day" in rec:
            try:
                rec["max_subjects_per_day"] = int(rec["max_subjects_per_day"])
            except ValueError:
                yield reader.line_num, None, "max_subjects_per_day must be a whole number"
                continue
        rec.setdefault("schema", AGREEMENT_SCHEMA if "role" in rec else CONSENT_SCHEMA)
        yield reader.line_num, rec, None


def _import_destination(
    rec: Any, kind: str | None, topics: Any, scanner: Any, *, hash_subjects: bool
) -> tuple[str, bytes, Any]:
    """(topic, key, record to write) for a validated consent or agreement record; raises ``BadInput``.

    Keys make compaction keep the latest record per recipient (agreements) and per (subject, recipient) (consents:
    the subject as its keyed HMAC, never raw)."""
    from stream.records import AGREEMENT_SCHEMA, BadInput, parse_agreement, parse_consent
    from stream.state.keys import consent_key
    from stream.state.materialize import subject_hmac

    if kind is None:
        kind = "agreements" if isinstance(rec, dict) and rec.get("schema") == AGREEMENT_SCHEMA else "consents"
    if kind == "agreements":
        return topics.agreements, safe_key(scanner, parse_agreement(rec).recipient_id), rec
    if scanner is None:
        raise BadInput("invalid_field", "consents are keyed by a keyed HMAC of the subject: give --hmac-key-file")
    c = parse_consent(rec)
    h = subject_hmac(scanner, c.subject_kind, c.subject_value)
    if hash_subjects and c.subject_kind != "key":
        rec = {**rec, "subject": {"key": h}}
    return topics.consents, consent_key(safe_key(scanner, c.recipient_id).decode(), h), rec


def safe_key(scanner: Any, recipient_id: str) -> bytes:
    """A recipient id as a Kafka key: the id itself, unless it carries personal information."""
    if scanner is None:
        return recipient_id.encode()
    from detectors.redact import safe_ref

    return safe_ref(scanner, recipient_id).encode()


def cmd_consents_import(args: Any) -> int:
    """``piplwatch consents import FILE``: validate every record and produce the valid ones, streaming (a file of
    millions of consents needs no more memory than one); each bad record is reported with its line."""
    import orjson
    from kafka import KafkaProducer

    from stream.records import BadInput
    from stream.topics import ensure_topics

    path = Path(args.file)
    settings = settings_from(args, hmac_key_file=args.hmac_key_file)
    settings.security.check()
    scanner = None
    if args.hmac_key_file or os.environ.get("PIPLWATCH_HMAC_KEY"):
        from detectors import Scanner
        from detectors.redact import load_hmac_key

        scanner = Scanner(hmac_key=load_hmac_key(args.hmac_key_file))
    producer = None
    imported = errors = 0
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for n, rec, error in _import_rows(path, fh):
                if error is None:
                    try:
                        topic, key, rec = _import_destination(
                            rec, args.kind, settings.topics, scanner, hash_subjects=args.hash_subjects
                        )
                    except BadInput as exc:
                        error = str(exc)
                if error is not None:
                    print(f"piplwatch consents import: {path}:{n}: {error}", file=sys.stderr)
                    errors += 1
                    continue
                if producer is None:
                    ensure_topics(settings)
                    producer = KafkaProducer(
                        bootstrap_servers=settings.bootstrap,
                        linger_ms=50,
                        batch_size=256 << 10,
                        **settings.kafka_python_kwargs(),
                    )
                producer.send(topic, key=key, value=orjson.dumps(rec))
                imported += 1
    except FileNotFoundError:
        print(f"piplwatch consents import: {path}: no such file", file=sys.stderr)
        return 2
    except UnicodeDecodeError:
        print(f"piplwatch consents import: {path}: not UTF-8", file=sys.stderr)
        return 2
    finally:
        if producer is not None:
            producer.flush()
            producer.close()
    print(f"imported {imported} records, rejected {errors}")
    return 2 if errors else 0
