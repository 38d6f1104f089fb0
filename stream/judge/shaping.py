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
from detectors.redact import mask_excerpt, safe_ref
from stream import __version__
from stream.authz.engine import Decision, Rule
from stream.judge.facts import Facts
from stream.judge.subjects import Unit
from stream.records import COUNTER_SCHEMA, DLQ_SCHEMA, MAX_FIELD_CHARS, VERDICT_SCHEMA, Transfer
from stream.state.store import CounterChange

EVIDENCE_LIMIT = 20
EXCERPT_CHARS = 240
EXCERPT_WINDOW_BYTES = 4096
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
        "counts": counts_view(transfer, facts),
        **({"redacted": list(transfer.redacted)} if transfer.redacted else {}),
    }


def counts_view(transfer: Transfer, facts: Facts) -> dict[str, Any]:
    """What the subject counts rest on: ``basis`` is ``declared`` when ``record_count`` added individuals the payload
    does not show (a sampled export), so counters and the cross-border tiers rely on the sender's word."""
    return {
        "record_count": transfer.record_count,
        "declared_only": facts.declared_unnamed,
        "basis": "declared" if facts.declared_unnamed else "payload",
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
            "counts": verdict["counts"],
            **({"redacted": verdict["redacted"]} if "redacted" in verdict else {}),
        },
    }


def dead_letter_record(
    scanner: Scanner, raw: bytes, key: bytes | None, reason: str, error: str, source: dict[str, Any] | None
) -> dict[str, Any]:
    """A ``piplwatch.dlq/v1`` record: reason, pointer to the original message and a digest; never the raw
    payload (the excerpt and the key are redacted)."""
    return {
        "schema": DLQ_SCHEMA,
        "reason": reason,
        # our own message, quoting at most a short piece of the input: numbers short of an identifier's length stay
        "error": mask_excerpt(scanner, error, 400, min_digits=11),
        "source": source or {},
        "key": safe_ref(scanner, key.decode("utf-8", errors="replace")[:MAX_FIELD_CHARS]) if key else None,
        "size": len(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
        # masked before it is cut (see mask_excerpt), from a window well past the cut
        "excerpt": mask_excerpt(scanner, raw[:EXCERPT_WINDOW_BYTES].decode("utf-8", errors="replace"), EXCERPT_CHARS),
        "received_at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
    }


def counter_record(name: str, members: Iterable[str], extra: dict[str, int], worker: str) -> dict[str, Any]:
    """The ``piplwatch.counter/v1`` record: what one worker added to a counter set (members are keyed HMACs)."""
    return {"schema": COUNTER_SCHEMA, "set": name, "members": sorted(members), "extra": extra, "worker": worker}


#: JSON bytes one member (a 32-hex HMAC, quoted, with its comma) and one per-transfer count take in a counter record
_MEMBER_BYTES = 35
_EXTRA_BYTES = 2 * MAX_FIELD_CHARS + 32
_RECORD_BYTES = 512  # schema, set name (a recipient reference is at most a few hundred bytes), worker


def counter_records(
    changes: Iterable[CounterChange], worker: str, *, max_bytes: int = 1_000_000
) -> list[dict[str, Any]]:
    """Counter changes merged per set (what a worker shares per batch), split so that no record's JSON exceeds
    ``max_bytes``: a 260,000-person export becomes several records, each one a union the others apply."""
    merged: dict[str, tuple[set[str], dict[str, int]]] = {}
    for name, members, source, extra in changes:
        new, extras = merged.setdefault(name, (set(), {}))
        new.update(members)
        if source is not None:
            extras[source] = extra
    per_record = max(1, (max_bytes - _RECORD_BYTES) // _MEMBER_BYTES)
    extras_per_record = max(1, (max_bytes - _RECORD_BYTES) // _EXTRA_BYTES)
    out = []
    for name, (new, extras) in merged.items():
        members = sorted(new)
        items = list(extras.items())
        for i in range(0, max(1, len(members)), per_record):
            out.append(counter_record(name, members[i : i + per_record], {}, worker))
        if items:
            out[-1]["extra"] = dict(items[:extras_per_record])
            for i in range(extras_per_record, len(items), extras_per_record):
                out.append(counter_record(name, (), dict(items[i : i + extras_per_record]), worker))
    return out


def retraction_record(transfer_id: str, by: str, reason: str) -> dict[str, Any]:
    """A ``piplwatch.counter/v1`` retraction: every worker removes what ``transfer_id`` added to the counters as
    unnamed individuals and ignores it from then on (``piplwatch counters retract``)."""
    return {
        "schema": COUNTER_SCHEMA,
        "retract": transfer_id,
        "worker": by,
        "reason": reason,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def dumps(obj: Any) -> bytes:
    """Compact JSON for output topics."""
    return orjson.dumps(obj)
