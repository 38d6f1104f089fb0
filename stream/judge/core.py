"""Judge one transfer: parse, detect, group subjects, compute facts, run the rules, shape the outputs.

Pure of Faust and Kafka: the agent hands in raw bytes and gets back a ``Judged`` (what to publish) or a
``DeadLettered`` (bad input). The only side effects are on the worker's ``StateStore`` counters, which are sets of
HMACs, so a redelivered transfer yields the same verdict and cannot count twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from detectors import Finding, Scanner
from detectors.structured import leaves as flatten_leaves
from stream.authz import RuleEngine
from stream.authz.engine import Decision
from stream.judge.facts import Facts, FactsBuilder
from stream.judge.shaping import alert_record, dead_letter_record, verdict_record
from stream.judge.subjects import group_subjects
from stream.records import BadInput, Transfer, parse_json, parse_transfer
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


@dataclass
class DeadLettered:
    """A message that could not be judged: the ``piplwatch.dlq/v1`` record to publish, and its reason."""

    record: dict[str, Any]

    @property
    def reason(self) -> str:
        return str(self.record["reason"])


Outcome = Judged | DeadLettered


class Judge:
    """Turns raw transfer messages into verdicts, alerts and dead letters."""

    def __init__(
        self, scanner: Scanner, state: StateStore, engine: RuleEngine | None = None, *, max_message_bytes: int = 8 << 20
    ) -> None:
        self.scanner = scanner
        self.state = state
        self.engine = engine or RuleEngine()
        self.max_message_bytes = max_message_bytes
        self.facts = FactsBuilder(state)

    def judge(self, raw: bytes, *, key: bytes | None = None, source: dict[str, Any] | None = None) -> Outcome:
        """Judge one message value; bad input becomes a dead letter, never an exception."""
        try:
            transfer = parse_transfer(parse_json(raw, max_bytes=self.max_message_bytes))
        except BadInput as exc:
            return self.dead_letter(raw, key, exc.reason, str(exc), source)
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

    def dead_letter(
        self, raw: bytes, key: bytes | None, reason: str, error: str, source: dict[str, Any] | None
    ) -> DeadLettered:
        """A dead letter for ``raw`` (see ``shaping.dead_letter_record``)."""
        return DeadLettered(dead_letter_record(self.scanner, raw, key, reason, error, source))
