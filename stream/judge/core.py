"""Judge one transfer: parse, detect, join with agreements and consents, run the rules, shape the outputs.

Pure of Faust and Kafka: the agent hands in raw bytes and gets back what to publish. The only
side effects are on the worker's ``StateStore`` counters, which are sets of HMACs, so a
redelivered transfer yields the same verdict and cannot count twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

import orjson

from detectors import Finding, Scanner
from detectors.registry import detector_classes
from detectors.structured import generic_path, leaf_name, leaves as flatten_leaves
from detectors.taxonomy import DIRECT_IDENTIFIERS, SENSITIVE
from stream.authz import RuleEngine
from stream.authz.engine import Decision
from stream.records import (CBDT_SCENARIOS, COUNTER_SCHEMA, VERDICT_SCHEMA, BadInput, Transfer, parse_json,
                            parse_transfer)
from stream.state import StateStore

SUBJECT_KINDS = {"mobile", "id_number", "email"}
USER_ID_FIELDS = frozenset({"user_id", "uid", "userid", "userId", "member_id", "account_id", "用户id", "用户ID", "会员id"})
_USER_ID_ENDINGS = tuple(USER_ID_FIELDS)  # a cheap pre-check before parsing the path
ADEQUATE_KINDS = ("separate", "written", "guardian")
EVIDENCE_LIMIT = 20
PI_TIER, PI_ASSESS, SPI_ASSESS = 100_000, 1_000_000, 10_000
APPROACH = 0.8
BASELINE_FACTOR, BASELINE_MIN = 5, 50
TRACK_FINANCIAL = frozenset({"location", "financial_account"})
OCSF_SEVERITY = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}


@dataclass
class Unit:
    """One data subject of a transfer: the identifier keys (HMACs) that name it and what was found about it."""

    keys: set[str] = field(default_factory=set)
    categories: set[str] = field(default_factory=set)
    raw: bool = False
    spi: bool = False
    minor: bool = False

    def uid(self, fallback: str) -> str:
        return min(self.keys) if self.keys else fallback


@dataclass
class Outcome:
    """What to publish for one input message."""

    transfer: Transfer | None = None
    verdict: dict[str, Any] | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    dlq: dict[str, Any] | None = None
    findings: list[Finding] = field(default_factory=list)
    decision: Decision | None = None
    detection_seconds: float = 0.0
    facts: dict[str, Any] = field(default_factory=dict)
    #: counter changes to share with the other workers: (set name, new members, transfer id or None, unnamed count)
    counter_changes: list[tuple[str, list[str], str | None, int]] = field(default_factory=list)


class Judge:
    """Turns raw transfer messages into verdicts, alerts and dead letters."""

    def __init__(self, scanner: Scanner, state: StateStore, engine: RuleEngine | None = None, *,
                 max_message_bytes: int = 8 << 20) -> None:
        self.scanner = scanner
        self.state = state
        self.engine = engine or RuleEngine()
        self.max_message_bytes = max_message_bytes
        # per (recipient, day): distinct-subject counts of the 7 days before; stale when a late transfer lands on an
        # earlier day of that recipient (dropped then) or when other workers' daily counts arrive (all dropped)
        self._history: dict[str, dict[dt.date, list[int]]] = {}
        self._seen_daily_updates = state.daily_updates

    # -- entry point ----------------------------------------------------------------------------
    def judge(self, raw: bytes, *, key: bytes | None = None, source: dict[str, Any] | None = None) -> Outcome:
        """Judge one message value; bad input becomes a dead letter, never an exception."""
        try:
            transfer = parse_transfer(parse_json(raw, max_bytes=self.max_message_bytes))
        except BadInput as exc:
            return Outcome(dlq=self.dead_letter(raw, key, exc.reason, str(exc), source))
        t0 = time.perf_counter()
        leaves = None
        if isinstance(transfer.payload, str):
            findings = self.scanner.scan(transfer.payload)
        else:
            leaves = flatten_leaves(transfer.payload)
            findings = self.scanner.scan_payload(transfer.payload, leaves=leaves)
        detect = time.perf_counter() - t0
        changes: list[tuple[str, list[str], str | None, int]] = []
        facts, units = self.facts(transfer, findings, leaves, changes)
        decision = self.engine.evaluate(facts)
        verdict = self.verdict(transfer, findings, units, facts, decision)
        alerts = [self.alert(transfer, verdict, h.rule, h.severity) for h in decision.hits if h.rule.verdict == "violation"]
        return Outcome(transfer=transfer, verdict=verdict, alerts=alerts, findings=findings, decision=decision,
                       detection_seconds=detect, facts=facts, counter_changes=changes)

    # -- subjects ---------------------------------------------------------------------------------
    def units(self, transfer: Transfer, findings: list[Finding],
              leaves: list[tuple[str, str]] | None = None) -> list[Unit]:
        """Group findings into data subjects and link them to ``subjects`` through user-id HMACs."""
        groups: dict[str, Unit] = {}
        text_units: list[Unit] = []
        for f in findings:
            if f.sensitivity == "organisational":
                continue
            if f.field is None:  # plain text: one subject per distinct direct identifier
                kind = _kind(f)
                if kind in SUBJECT_KINDS:
                    u = next((u for u in text_units if f.hmac in u.keys), None)
                    if u is None:
                        u = Unit()
                        text_units.append(u)
                    u.keys.add(f.hmac)
                    _absorb(u, f)
                continue
            u = _unit_of(groups, f.field)
            if _kind(f) in SUBJECT_KINDS and not f.masked:
                u.keys.add(f.hmac)
            _absorb(u, f)
        if isinstance(transfer.payload, (dict, list)):
            for path, value in (leaves if leaves is not None else flatten_leaves(transfer.payload)):
                if path.rstrip("]0123456789[").endswith(_USER_ID_ENDINGS) and leaf_name(path) in USER_ID_FIELDS:
                    _unit_of(groups, path).keys.add(self.scanner.hmac_of("user_id", value.strip()))
        if not text_units and isinstance(transfer.payload, str):
            rest = [f for f in findings if f.sensitivity != "organisational"]
            if rest:
                u = Unit()
                for f in rest:
                    _absorb(u, f)
                text_units.append(u)
        units = [u for u in groups.values() if u.raw or u.keys or u.categories] + text_units
        by_key = {k: u for u in units for k in u.keys}
        for s in transfer.subjects:
            h = self.scanner.hmac_of("user_id", s)
            if h not in by_key:
                u = Unit(keys={h})
                units.append(u)
                by_key[h] = u
        return units

    def consent_status(self, unit: Unit, transfer: Transfer) -> tuple[str, str | None]:
        """Best consent of a unit for this recipient: (status, kind). Status: valid/withdrawn/mismatch/none.

        A withdrawal speaks for the person, whichever of their identifiers it was recorded under: it voids every
        consent for this recipient granted before it (one granted after it stands)."""
        best: tuple[int, str, str | None] = (0, "none", None)
        t = transfer.occurred_at.timestamp()
        found = [c for c in (self.state.consent(k, transfer.recipient_id) for k in unit.keys) if c is not None]
        withdrawn_at = max((c["w"] for c in found if c["w"] is not None and c["w"] <= t), default=None)
        for c in found:
            if (c["w"] is not None and c["w"] <= t) or (withdrawn_at is not None and c["g"] <= withdrawn_at):
                cand = (1, "withdrawn", c["k"])
            elif c["g"] > t or (c["e"] is not None and c["e"] < t):
                cand = (2, "mismatch", c["k"])
            elif (c["p"] and transfer.purpose not in c["p"] and "*" not in c["p"]) or not unit.categories <= set(c["c"]):
                cand = (2, "mismatch", c["k"])
            else:
                cand = (4 if c["k"] in ADEQUATE_KINDS else 3, "valid", c["k"])
            best = max(best, cand, key=lambda x: x[0])
        return best[1], best[2]

    # -- facts ------------------------------------------------------------------------------------
    def facts(self, transfer: Transfer, findings: list[Finding], leaves: list[tuple[str, str]] | None = None,
              changes: list[tuple[str, list[str], str | None, int]] | None = None) -> tuple[dict[str, Any], list[Unit]]:
        """Everything the rules read, computed once; counters are updated here (idempotently), and what changed in
        them is appended to ``changes``."""
        t = transfer.occurred_at
        raw = [f for f in findings if not f.masked and f.sensitivity != "organisational"]
        units = self.units(transfer, findings, leaves)
        a = self.state.agreement(transfer.recipient_id)
        terminated = bool(a and a.terminated_at and a.terminated_at <= t)
        expired = bool(a and a.valid_to and a.valid_to < t)
        not_yet = bool(a and a.valid_from > t)
        active = bool(a) and not (terminated or expired or not_yet)
        categories = {f.category for f in raw}
        scope_excess = False
        if a and active and raw:
            fields_excess = a.allowed_fields is not None and any(
                f.field is not None and leaf_name(f.field) not in a.allowed_fields
                and generic_path(f.field) not in a.allowed_fields for f in raw)
            scope_excess = bool(categories - set(a.allowed_categories)) or fields_excess or (
                bool(a.allowed_purposes) and transfer.purpose not in a.allowed_purposes)
        entrusted = bool(a and a.role == "entrusted_processor")
        consent_required = transfer.legal_basis == "consent" and not entrusted
        cross_border = transfer.recipient_country != "CN" or bool(a and a.country != "CN")
        counts = dict(uncovered=0, withdrawn=0, mismatch=0, general=0, spi_wo=0, minor_wo=0, cb_wo=0, not_ok=0)
        raw_units = [u for u in units if u.raw or (u.keys and not u.categories)]
        for u in raw_units:
            status, kind = self.consent_status(u, transfer)
            adequate = status == "valid" and kind in ADEQUATE_KINDS
            counts["uncovered"] += status == "none"
            counts["withdrawn"] += status == "withdrawn"
            counts["mismatch"] += status == "mismatch"
            counts["general"] += status == "valid" and kind == "general"
            counts["spi_wo"] += u.spi and not adequate
            counts["minor_wo"] += u.minor and not (status == "valid" and kind == "guardian")
            counts["cb_wo"] += cross_border and not adequate
            counts["not_ok"] += not adequate if consent_required else (u.spi or u.minor) and not adequate
        items_total = max(len(raw_units), transfer.record_count)
        scale = items_total / max(1, len(raw_units))
        tf_units = sum(1 for u in raw_units if u.categories & TRACK_FINANCIAL)
        extra = max(0, transfer.record_count - len(raw_units))
        ids = [u.uid(f"anon:{transfer.transfer_id}:{i}") for i, u in enumerate(raw_units)]
        facts: dict[str, Any] = {
            "pi": bool(findings) or bool(transfer.subjects), "raw_pi": bool(raw),
            "recipient_registered": a is not None, "agreement_active": active, "agreement_terminated": terminated,
            "agreement_expired": expired, "agreement_not_yet_valid": not_yet, "scope_excess": scope_excess,
            "entrusted": entrusted, "consent_required": consent_required,
            "uncovered_subjects": counts["uncovered"], "withdrawn_subjects": counts["withdrawn"],
            "mismatched_subjects": counts["mismatch"], "general_consent_subjects": counts["general"],
            "spi_present": any(f.sensitivity in SENSITIVE for f in raw), "spi_without_separate": counts["spi_wo"],
            "minor_present": any(u.minor for u in raw_units), "minor_without_guardian": counts["minor_wo"],
            "declared_anonymized": transfer.deid_level == "anonymized",
            "declared_pseudonymized": transfer.deid_level == "pseudonymized",
            "direct_identifiers": any(f.entity_type in DIRECT_IDENTIFIERS for f in raw),
            "cross_border": cross_border, "cb_without_separate": counts["cb_wo"],
            "cbdt_exempt_scenario": transfer.cbdt_scenario in CBDT_SCENARIOS,
            "cbdt_mechanism_filed": bool(a and a.cross_border_mechanism in ("scc_filed", "certified", "assessed")),
            "cbdt_assessed": bool(a and a.cross_border_mechanism == "assessed"
                                  and (a.mechanism_valid_to is None or a.mechanism_valid_to >= t)),
            "items_total": items_total, "items_track_financial": round(tf_units * scale),
            "subjects_total": len(units), "subjects_uncovered": counts["not_ok"],
        }
        year = t.year
        if cross_border and raw:
            spi_ids = [i for i, u in zip(ids, raw_units) if u.spi]
            pi_ids = [i for i, u in zip(ids, raw_units) if not u.spi or u.categories - {"financial_account", "identity_document", "location"}]
            any_spi = bool(spi_ids)
            tid = transfer.transfer_id
            facts["cb_individuals_ytd_after"] = self.state.add_members(f"cb|{year}|pi", pi_ids, extra=extra, source=tid,
                                                                          changes=changes)
            facts["cb_spi_individuals_ytd_after"] = self.state.add_members(
                f"cb|{year}|spi", spi_ids, extra=extra if any_spi else 0, source=tid, changes=changes)
        else:
            facts["cb_individuals_ytd_after"] = self.state.set_size(f"cb|{year}|pi")
            facts["cb_spi_individuals_ytd_after"] = self.state.set_size(f"cb|{year}|spi")
        pi_n, spi_n = facts["cb_individuals_ytd_after"], facts["cb_spi_individuals_ytd_after"]
        facts["tier_approaching"] = (APPROACH * PI_TIER <= pi_n < PI_TIER or APPROACH * PI_ASSESS <= pi_n < PI_ASSESS
                                     or APPROACH * SPI_ASSESS <= spi_n < SPI_ASSESS)
        day = t.date()
        daily_name = f"daily|{transfer.recipient_id}|{day.isoformat()}"
        daily = (self.state.add_members(daily_name, ids, extra=extra, source=transfer.transfer_id, changes=changes)
                 if raw else self.state.set_size(daily_name))
        history = self._daily_history(transfer.recipient_id, day, changed=bool(raw))
        baseline = sum(history) / len(history) if history else None
        facts["daily_subjects_after"] = daily
        facts["over_daily_quota"] = bool(a and a.max_subjects_per_day is not None and daily > a.max_subjects_per_day)
        facts["far_above_baseline"] = bool(baseline and daily >= BASELINE_MIN and daily > BASELINE_FACTOR * baseline)
        return facts, units

    def _daily_history(self, recipient_id: str, day: dt.date, *, changed: bool) -> list[int]:
        if self.state.daily_updates != self._seen_daily_updates:  # other workers' counts arrived: recompute
            self._seen_daily_updates = self.state.daily_updates
            self._history.clear()
        days = self._history.get(recipient_id)
        if days is None:
            if len(self._history) > 50_000:
                self._history.clear()
            days = self._history[recipient_id] = {}
        if changed:  # this day's count moved: cached histories of later days of this recipient include it
            for d in [d for d in days if d > day]:
                del days[d]
        h = days.get(day)
        if h is None:
            if len(days) > 16:
                days.clear()
            h = days[day] = self.state.daily_history(recipient_id, day)
        return h

    # -- outputs ----------------------------------------------------------------------------------
    def verdict(self, transfer: Transfer, findings: list[Finding], units: list[Unit], facts: dict[str, Any],
                decision: Decision) -> dict[str, Any]:
        """The ``piplwatch.verdict/v1`` record (masked evidence only)."""
        entities: dict[str, int] = {}
        for f in findings:
            entities[f.entity_type] = entities.get(f.entity_type, 0) + 1
        categories = sorted({f.category for f in findings if f.sensitivity != "organisational"}
                            | ({"minor"} if facts["minor_present"] else set()))
        evidence = [{"field": f.field, "entity_type": f.entity_type, "preview": f.preview, "masked": f.masked}
                    for f in findings[:EVIDENCE_LIMIT]]
        return {
            "schema": VERDICT_SCHEMA, "transfer_id": transfer.transfer_id, "recipient_id": transfer.recipient_id,
            "verdict": decision.verdict, "severity": decision.severity, "rules": decision.rule_ids,
            "categories": categories, "entities": entities,
            "subjects": {"total": facts["subjects_total"], "uncovered": facts["subjects_uncovered"]},
            "evidence": evidence, "channel": transfer.channel, "flow": transfer.flow,
            "cross_border": facts["cross_border"], "occurred_at": transfer.occurred_at.isoformat(),
            "decided_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
        }

    def alert(self, transfer: Transfer, verdict: dict[str, Any], rule: Any, severity: str) -> dict[str, Any]:
        """One OCSF Compliance Finding (class 2003) per violated rule; id = transfer id + rule id."""
        alert_id = f"{transfer.transfer_id}:{rule.id}"
        now_ms = int(time.time() * 1000)
        return {
            "alert_id": alert_id, "class_uid": 2003, "class_name": "Compliance Finding", "category_uid": 2,
            "activity_id": 1, "type_uid": 200301, "time": now_ms, "severity_id": OCSF_SEVERITY[severity],
            "severity": severity.capitalize(), "status_id": 1, "status": "New",
            "metadata": {"version": "1.3.0", "uid": alert_id, "product": {"name": "piplwatch", "vendor_name": "piplwatch",
                                                                           "version": "0.1.0"}},
            "finding_info": {"uid": alert_id, "title": rule.title["en"], "desc": rule.explain["en"],
                             "types": ["PIPL third-party transfer"], "created_time": now_ms},
            "compliance": {"standards": ["PIPL", "GB/T 35273-2020"], "control": rule.id,
                           "requirements": list(rule.citations), "status_id": 3, "status": "Fail"},
            "unmapped": {"transfer_id": transfer.transfer_id, "recipient_id": transfer.recipient_id,
                         "recipient_name": transfer.recipient_name, "rule_title_zh": rule.title["zh"],
                         "explain_zh": rule.explain["zh"], "tags": list(rule.tags), "channel": transfer.channel,
                         "categories": verdict["categories"], "subjects": verdict["subjects"],
                         "evidence": verdict["evidence"][:5]},
        }

    def dead_letter(self, raw: bytes, key: bytes | None, reason: str, error: str,
                    source: dict[str, Any] | None) -> dict[str, Any]:
        """A DLQ record: reason, pointer to the original message and a digest; never the raw payload."""
        excerpt = raw[:240].decode("utf-8", errors="replace")
        return {
            "schema": "piplwatch.dlq/v1", "reason": reason, "error": self.redact(error),
            "source": source or {}, "key": self.redact(key.decode("utf-8", errors="replace"))[:200] if key else None,
            "size": len(raw), "sha256": hashlib.sha256(raw).hexdigest(), "excerpt": self.redact(excerpt),
            "received_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
        }

    def redact(self, text: str) -> str:
        """Replace every finding in ``text`` with its masked preview."""
        out, last = [], 0
        for f in sorted(self.scanner.scan(text, min_score=0.3), key=lambda f: f.start):
            if f.start < last:
                continue
            out.append(text[last:f.start])
            out.append(f.preview)
            last = f.end
        out.append(text[last:])
        return "".join(out)


#: entity type -> consent subject kind, from each detector's SUBJECT_KIND (the namespace of its HMAC)
_SUBJECT_KIND = {c.ENTITY: c.SUBJECT_KIND for c in detector_classes() if c.SUBJECT_KIND in SUBJECT_KINDS}


def _kind(f: Finding) -> str | None:
    return _SUBJECT_KIND.get(f.entity_type)


def _unit_of(groups: dict[str, Unit], path: str) -> Unit:
    """The subject unit of the record that holds ``path`` (created on first use)."""
    g = _group(path)
    u = groups.get(g)
    if u is None:
        u = groups[g] = Unit()
    return u


def _group(path: str) -> str:
    i = path.rfind("]")
    return path[: i + 1] if i >= 0 else ""


def _absorb(u: Unit, f: Finding) -> None:
    if f.masked:
        return
    u.raw = True
    u.categories.add(f.category)
    if f.sensitivity in SENSITIVE:
        u.spi = True
    if f.attributes and f.attributes.get("age_under_14"):
        u.minor = True


def counter_record(name: str, members: Iterable[str], extra: dict[str, int], worker: str) -> dict[str, Any]:
    """The ``piplwatch.counter/v1`` record: what one worker added to a counter set (members are keyed HMACs)."""
    return {"schema": COUNTER_SCHEMA, "set": name, "members": sorted(members), "extra": extra, "worker": worker}


def counter_records(outcomes: Iterable[Outcome], worker: str) -> list[dict[str, Any]]:
    """The counter changes of judged transfers, one ``counter_record`` per set (what a worker shares per batch)."""
    merged: dict[str, tuple[set[str], dict[str, int]]] = {}
    for out in outcomes:
        for name, members, source, extra in out.counter_changes:
            new, extras = merged.setdefault(name, (set(), {}))
            new.update(members)
            if source is not None:
                extras[source] = extra
    return [counter_record(name, new, extras, worker) for name, (new, extras) in merged.items()]


def dumps(obj: Any) -> bytes:
    """Compact JSON for output topics."""
    return orjson.dumps(obj)
