"""Judge one transfer: parse, detect, group subjects, compute facts, run the rules, shape the outputs.

Pure of Faust and Kafka: the agent hands in raw bytes and gets back a ``Judged`` (what to publish) or a
``DeadLettered`` (bad input). The only side effects are on the worker's ``StateStore`` counters, which are sets of
HMACs, so a redelivered transfer yields the same verdict and cannot count twice.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from detectors import Finding, Scanner
from detectors.redact import mask_excerpt, printable, safe_ref
from detectors.structured import leaves as flatten_leaves
from stream.authz import RuleEngine
from stream.authz.engine import Decision
from stream.judge.facts import Facts, FactsBuilder
from stream.judge.shaping import alert_record, dead_letter_record, verdict_record
from stream.judge.subjects import group_subjects
from stream.records import MAX_FIELD_CHARS, MAX_RECORD_COUNT, BadInput, Transfer, parse_json, parse_transfer
from stream.state.store import CounterChange, StateStore


@dataclass
class Judged:
    """A transfer that was judged: what to publish and what to record once the broker acknowledged it."""

    transfer: Transfer
    verdict: dict[str, Any]
    alerts: list[dict[str, Any]]
    findings: list[Finding]
    decision: Decision
    facts: Facts
    detection_seconds: float = 0.0
    #: what this judgement changed in the counter sets (shared with the other workers)
    counter_changes: list[CounterChange] = field(default_factory=list)

    def finding_counts(self) -> dict[tuple[str, str, str], int]:
        """Findings per (entity type, category, sensitivity): what the findings metric adds, a handful of numbers
        even for an export with hundreds of thousands of findings."""
        counts: dict[tuple[str, str, str], int] = {}
        for f in self.findings:
            k = (f.entity_type, f.category, f.sensitivity)
            counts[k] = counts.get(k, 0) + 1
        return counts


@dataclass
class DeadLettered:
    """A message that could not be judged: the ``piplwatch.dlq/v1`` record to publish, and its reason."""

    record: dict[str, Any]

    @property
    def reason(self) -> str:
        return str(self.record["reason"])

    @property
    def kafka_key(self) -> bytes | None:
        """The key to publish it under: the input key as the record holds it (a safe reference, never raw)."""
        key = self.record.get("key")
        return key.encode() if key else None


Outcome = Judged | DeadLettered


class Judge:
    """Turns raw transfer messages into verdicts, alerts and dead letters."""

    def __init__(
        self,
        scanner: Scanner,
        state: StateStore,
        engine: RuleEngine | None = None,
        *,
        max_message_bytes: int = 8 << 20,
        max_record_count: int = MAX_RECORD_COUNT,
    ) -> None:
        self.scanner = scanner
        self.state = state
        self.engine = engine or RuleEngine()
        self.max_message_bytes = max_message_bytes
        self.max_record_count = max_record_count
        self.facts = FactsBuilder(state)
        self._recipient_refs: dict[str, tuple[str, str]] = {}

    def judge(self, raw: bytes, *, key: bytes | None = None, source: dict[str, Any] | None = None) -> Outcome:
        """Judge one message value; bad input becomes a dead letter, never an exception."""
        try:
            transfer = parse_transfer(
                parse_json(raw, max_bytes=self.max_message_bytes), max_record_count=self.max_record_count
            )
        except BadInput as exc:
            return self.dead_letter(raw, key, exc.reason, str(exc), source)
        transfer = self.with_refs(transfer)
        t0 = time.perf_counter()
        leaves = None
        if isinstance(transfer.payload, str):
            findings = self.scanner.scan(transfer.payload)
        else:
            leaves = flatten_leaves(transfer.payload)
            findings = self.scanner.scan_payload(transfer.payload, leaves=leaves)
        detect = time.perf_counter() - t0
        changes: list[CounterChange] = []
        units = group_subjects(self.scanner, transfer, findings, leaves)
        facts = self.facts.build(transfer, findings, units, changes)
        decision = self.engine.evaluate(vars(facts))
        verdict = verdict_record(transfer, findings, units, facts, decision)
        alerts = [
            alert_record(transfer, verdict, h.rule, h.severity) for h in decision.hits if h.rule.verdict == "violation"
        ]
        return Judged(
            transfer=transfer,
            verdict=verdict,
            alerts=alerts,
            findings=findings,
            decision=decision,
            facts=facts,
            detection_seconds=detect,
            counter_changes=changes,
        )

    def with_refs(self, transfer: Transfer) -> Transfer:
        """The transfer with its identifiers as outputs and state may hold them (``detectors.redact.safe_ref``): a
        transfer id, recipient id or recipient name that carries personal information (or control characters) is
        replaced by its masked form + keyed HMAC prefix, and ``redacted`` names the fields that were."""
        tid = safe_ref(self.scanner, transfer.transfer_id)
        cached = self._recipient_refs.get(transfer.recipient_id + "\x00" + transfer.recipient_name)
        if cached is None:
            rid = safe_ref(self.scanner, transfer.recipient_id)
            name = transfer.recipient_name
            if safe_ref(self.scanner, name) != name:
                name = mask_excerpt(self.scanner, name, MAX_FIELD_CHARS)
            if len(self._recipient_refs) > 10_000:
                self._recipient_refs.clear()
            cached = self._recipient_refs[transfer.recipient_id + "\x00" + transfer.recipient_name] = (rid, name)
        rid, name = cached
        changed = tuple(
            f
            for f, before, after in (
                ("transfer_id", transfer.transfer_id, tid),
                ("recipient.id", transfer.recipient_id, rid),
                ("recipient.name", transfer.recipient_name, name),
            )
            if before != after
        )
        if not changed:
            return transfer
        return dataclasses.replace(
            transfer, transfer_id=tid, recipient_id=rid, recipient_name=printable(name), redacted=changed
        )

    def dead_letter(
        self, raw: bytes, key: bytes | None, reason: str, error: str, source: dict[str, Any] | None
    ) -> DeadLettered:
        """A dead letter for ``raw`` (see ``shaping.dead_letter_record``)."""
        return DeadLettered(dead_letter_record(self.scanner, raw, key, reason, error, source))
