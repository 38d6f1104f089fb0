"""The records the judge produces: verdicts, OCSF alerts, dead letters and shared counter updates.

Only masked previews, field paths and keyed HMACs go into them; never a raw value or the raw payload.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterable
from typing import Any

import orjson

from detectors import Finding, Scanner
from detectors.redact import redact_text
from stream import __version__
from stream.authz.engine import Decision, Rule
from stream.judge.facts import Facts
from stream.judge.subjects import Unit
from stream.records import COUNTER_SCHEMA, DLQ_SCHEMA, VERDICT_SCHEMA, Transfer
from stream.state.store import CounterChange

EVIDENCE_LIMIT = 20
ALERT_EVIDENCE_LIMIT = 5
OCSF_SEVERITY = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}


def verdict_record(
    transfer: Transfer, findings: list[Finding], units: list[Unit], facts: Facts, decision: Decision
) -> dict[str, Any]:
    """The ``piplwatch.verdict/v1`` record (masked evidence only)."""
    entities: dict[str, int] = {}
    for f in findings:
        entities[f.entity_type] = entities.get(f.entity_type, 0) + 1
    categories = sorted(
        {f.category for f in findings if f.sensitivity != "organisational"}
        | ({"minor"} if facts.minor_present else set())
    )
    evidence = [
        {"field": f.field, "entity_type": f.entity_type, "preview": f.preview, "masked": f.masked}
        for f in findings[:EVIDENCE_LIMIT]
    ]
    return {
        "schema": VERDICT_SCHEMA,
        "transfer_id": transfer.transfer_id,
        "recipient_id": transfer.recipient_id,
        "verdict": decision.verdict,
        "severity": decision.severity,
        "rules": decision.rule_ids,
        "categories": categories,
        "entities": entities,
        "subjects": {"total": facts.subjects_total, "uncovered": facts.subjects_uncovered},
        "evidence": evidence,
        "channel": transfer.channel,
        "flow": transfer.flow,
        "cross_border": facts.cross_border,
        "occurred_at": transfer.occurred_at.isoformat(),
        "decided_at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
    }


def alert_record(transfer: Transfer, verdict: dict[str, Any], rule: Rule, severity: str) -> dict[str, Any]:
    """One OCSF Compliance Finding (class 2003) per violated rule; id = transfer id + rule id."""
    alert_id = f"{transfer.transfer_id}:{rule.id}"
    now_ms = int(time.time() * 1000)
    return {
        "alert_id": alert_id,
        "class_uid": 2003,
        "class_name": "Compliance Finding",
        "category_uid": 2,
        "activity_id": 1,
        "type_uid": 200301,
        "time": now_ms,
        "severity_id": OCSF_SEVERITY[severity],
        "severity": severity.capitalize(),
        "status_id": 1,
        "status": "New",
        "metadata": {
            "version": "1.3.0",
            "uid": alert_id,
            "product": {"name": "piplwatch", "vendor_name": "piplwatch", "version": __version__},
        },
        "finding_info": {
            "uid": alert_id,
            "title": rule.title["en"],
            "desc": rule.explain["en"],
            "types": ["PIPL third-party transfer"],
            "created_time": now_ms,
        },
        "compliance": {
            "standards": ["PIPL", "GB/T 35273-2020"],
            "control": rule.id,
            "requirements": list(rule.citations),
            "status_id": 3,
            "status": "Fail",
        },
        "unmapped": {
            "transfer_id": transfer.transfer_id,
            "recipient_id": transfer.recipient_id,
            "recipient_name": transfer.recipient_name,
            "rule_title_zh": rule.title["zh"],
            "explain_zh": rule.explain["zh"],
            "tags": list(rule.tags),
            "channel": transfer.channel,
            "categories": verdict["categories"],
            "subjects": verdict["subjects"],
            "evidence": verdict["evidence"][:ALERT_EVIDENCE_LIMIT],
        },
    }


def dead_letter_record(
    scanner: Scanner, raw: bytes, key: bytes | None, reason: str, error: str, source: dict[str, Any] | None
) -> dict[str, Any]:
    """A ``piplwatch.dlq/v1`` record: reason, pointer to the original message and a digest; never the raw
    payload (the excerpt and the key are redacted)."""
    excerpt = raw[:240].decode("utf-8", errors="replace")
    return {
        "schema": DLQ_SCHEMA,
        "reason": reason,
        "error": redact_text(scanner, error),
        "source": source or {},
        "key": redact_text(scanner, key.decode("utf-8", errors="replace"))[:200] if key else None,
        "size": len(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "excerpt": redact_text(scanner, excerpt),
        "received_at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
    }


def counter_record(name: str, members: Iterable[str], extra: dict[str, int], worker: str) -> dict[str, Any]:
    """The ``piplwatch.counter/v1`` record: what one worker added to a counter set (members are keyed HMACs)."""
    return {"schema": COUNTER_SCHEMA, "set": name, "members": sorted(members), "extra": extra, "worker": worker}


def counter_records(changes: Iterable[CounterChange], worker: str) -> list[dict[str, Any]]:
    """Counter changes merged into one ``counter_record`` per set (what a worker shares per batch)."""
    merged: dict[str, tuple[set[str], dict[str, int]]] = {}
    for name, members, source, extra in changes:
        new, extras = merged.setdefault(name, (set(), {}))
        new.update(members)
        if source is not None:
            extras[source] = extra
    return [counter_record(name, new, extras, worker) for name, (new, extras) in merged.items()]


def dumps(obj: Any) -> bytes:
    """Compact JSON for output topics."""
    return orjson.dumps(obj)
