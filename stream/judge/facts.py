"""Facts: everything the rules read about one transfer, computed once, and the counters they depend on.

``FactsBuilder.build`` joins a transfer's subjects with the recipient's agreement and each subject's consent,
updates the distinct-subject counter sets (idempotently: sets of HMACs, and per-transfer counts of unnamed
individuals) and returns a typed ``Facts``. The rule engine reads it as a mapping (``vars(facts)``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from detectors import Finding
from detectors.structured import generic_path, leaf_name
from detectors.taxonomy import DIRECT_IDENTIFIERS, SENSITIVE
from stream.judge.subjects import ADEQUATE_KINDS, Unit, consent_status
from stream.records import CBDT_SCENARIOS, Transfer
from stream.state.keys import daily_set, ytd_set
from stream.state.store import CounterChange, StateStore

#: TA-26: a day "far above baseline" has this many times the recipient's 7-day mean, and at least this many subjects
BASELINE_FACTOR, BASELINE_MIN = 5, 50
#: categories counted as whereabouts/financial items (法释〔2017〕10号 Art. 5 ¶1(3)-(4): 50 items suffice)
TRACK_FINANCIAL = frozenset({"location", "financial_account"})
#: the cross-border mechanisms that satisfy TA-19 (a filed standard contract, a certification, an assessment)
FILED_MECHANISMS = ("scc_filed", "certified", "assessed")


@dataclass
class Facts:
    """What the rules (``stream/authz/rules.yaml``) read about one transfer; every field is a rule input."""

    pi: bool
    raw_pi: bool
    recipient_registered: bool
    agreement_active: bool
    agreement_terminated: bool
    agreement_expired: bool
    agreement_not_yet_valid: bool
    scope_excess: bool
    entrusted: bool
    consent_required: bool
    uncovered_subjects: int
    withdrawn_subjects: int
    mismatched_subjects: int
    general_consent_subjects: int
    spi_present: bool
    spi_without_separate: int
    minor_present: bool
    minor_without_guardian: int
    declared_anonymized: bool
    declared_pseudonymized: bool
    direct_identifiers: bool
    cross_border: bool
    cb_without_separate: int
    cbdt_exempt_scenario: bool
    cbdt_mechanism_filed: bool
    cbdt_assessed: bool
    items_total: int
    items_track_financial: int
    subjects_total: int
    subjects_uncovered: int
    #: distinct individuals (with sensitive data) sent abroad this year, this transfer included
    cb_individuals_ytd_after: int = 0
    cb_spi_individuals_ytd_after: int = 0
    #: distinct subjects sent to this recipient today, this transfer included
    daily_subjects_after: int = 0
    over_daily_quota: bool = False
    far_above_baseline: bool = False
    #: individuals counted only because ``record_count`` declares more records than the payload shows (a sample)
    declared_unnamed: int = 0


class FactsBuilder:
    """Computes ``Facts`` against one worker's state; keeps a small cache of per-recipient daily histories."""

    def __init__(self, state: StateStore) -> None:
        self.state = state
        # per (recipient, day): distinct-subject counts of the 7 days before; stale when a late transfer lands on an
        # earlier day of that recipient (dropped then) or when other workers' daily counts arrive (all dropped)
        self._history: dict[str, dict[dt.date, list[int]]] = {}
        self._seen_daily_updates = state.daily_updates

    def build(
        self, transfer: Transfer, findings: list[Finding], units: list[Unit], changes: list[CounterChange] | None = None
    ) -> Facts:
        """The facts of one transfer. Counters are updated here (idempotently); what changed in them is appended
        to ``changes``."""
        t = transfer.occurred_at
        raw = [f for f in findings if not f.masked and f.sensitivity != "organisational"]
        a = self.state.agreement(transfer.recipient_id)
        terminated = bool(a and a.terminated_at and a.terminated_at <= t)
        expired = bool(a and a.valid_to and a.valid_to < t)
        not_yet = bool(a and a.valid_from > t)
        active = bool(a) and not (terminated or expired or not_yet)
        categories = {f.category for f in raw}
        scope_excess = False
        if a and active and raw:
            fields_excess = a.allowed_fields is not None and any(
                f.field is not None
                and leaf_name(f.field) not in a.allowed_fields
                and generic_path(f.field) not in a.allowed_fields
                for f in raw
            )
            scope_excess = (
                bool(categories - set(a.allowed_categories))
                or fields_excess
                or (bool(a.allowed_purposes) and transfer.purpose not in a.allowed_purposes)
            )
        entrusted = bool(a and a.role == "entrusted_processor")
        consent_required = transfer.legal_basis == "consent" and not entrusted
        cross_border = transfer.recipient_country != "CN" or bool(a and a.country != "CN")
        uncovered = withdrawn = mismatch = general = spi_wo = minor_wo = cb_wo = not_ok = 0
        raw_units = [u for u in units if u.raw or (u.keys and not u.categories)]
        for u in raw_units:
            status, kind = consent_status(self.state, u, transfer)
            adequate = status == "valid" and kind in ADEQUATE_KINDS
            uncovered += status == "none"
            withdrawn += status == "withdrawn"
            mismatch += status == "mismatch"
            general += status == "valid" and kind == "general"
            spi_wo += u.spi and not adequate
            minor_wo += u.minor and not (status == "valid" and kind == "guardian")
            cb_wo += cross_border and not adequate
            not_ok += not adequate if consent_required else (u.spi or u.minor) and not adequate
        items_total = max(len(raw_units), transfer.record_count)
        scale = items_total / max(1, len(raw_units))
        tf_units = sum(1 for u in raw_units if u.categories & TRACK_FINANCIAL)
        facts = Facts(
            pi=bool(findings) or bool(transfer.subjects),
            raw_pi=bool(raw),
            recipient_registered=a is not None,
            agreement_active=active,
            agreement_terminated=terminated,
            agreement_expired=expired,
            agreement_not_yet_valid=not_yet,
            scope_excess=scope_excess,
            entrusted=entrusted,
            consent_required=consent_required,
            uncovered_subjects=uncovered,
            withdrawn_subjects=withdrawn,
            mismatched_subjects=mismatch,
            general_consent_subjects=general,
            spi_present=any(f.sensitivity in SENSITIVE for f in raw),
            spi_without_separate=spi_wo,
            minor_present=any(u.minor for u in raw_units),
            minor_without_guardian=minor_wo,
            declared_anonymized=transfer.deid_level == "anonymized",
            declared_pseudonymized=transfer.deid_level == "pseudonymized",
            direct_identifiers=any(f.entity_type in DIRECT_IDENTIFIERS for f in raw),
            cross_border=cross_border,
            cb_without_separate=cb_wo,
            cbdt_exempt_scenario=transfer.cbdt_scenario in CBDT_SCENARIOS,
            cbdt_mechanism_filed=bool(a and a.cross_border_mechanism in FILED_MECHANISMS),
            cbdt_assessed=bool(
                a
                and a.cross_border_mechanism == "assessed"
                and (a.mechanism_valid_to is None or a.mechanism_valid_to >= t)
            ),
            items_total=items_total,
            items_track_financial=round(tf_units * scale),
            subjects_total=len(units),
            subjects_uncovered=not_ok,
        )
        self._count(facts, transfer, raw_units, bool(raw), changes)
        quota = a.max_subjects_per_day if a else None
        facts.over_daily_quota = quota is not None and facts.daily_subjects_after > quota
        return facts

    def _count(
        self, facts: Facts, transfer: Transfer, raw_units: list[Unit], raw: bool, changes: list[CounterChange] | None
    ) -> None:
        """Update the year-to-date cross-border sets and the recipient's daily set; fill the counter facts."""
        t = transfer.occurred_at
        tid = transfer.transfer_id
        extra = max(0, transfer.record_count - len(raw_units))
        facts.declared_unnamed = extra if raw else 0
        ids = [u.uid(f"anon:{tid}:{i}") for i, u in enumerate(raw_units)]
        pi_set, spi_set = ytd_set(t.year, "pi"), ytd_set(t.year, "spi")
        if facts.cross_border and raw:
            spi_ids = [i for i, u in zip(ids, raw_units) if u.spi]
            pi_ids = [
                i
                for i, u in zip(ids, raw_units)
                if not u.spi or u.categories - {"financial_account", "identity_document", "location"}
            ]
            facts.cb_individuals_ytd_after = self.state.add_members(
                pi_set, pi_ids, extra=extra, source=tid, changes=changes
            )
            facts.cb_spi_individuals_ytd_after = self.state.add_members(
                spi_set, spi_ids, extra=extra if spi_ids else 0, source=tid, changes=changes
            )
        else:
            facts.cb_individuals_ytd_after = self.state.set_size(pi_set)
            facts.cb_spi_individuals_ytd_after = self.state.set_size(spi_set)
        day = t.date()
        daily_name = daily_set(transfer.recipient_id, day)
        facts.daily_subjects_after = (
            self.state.add_members(daily_name, ids, extra=extra, source=tid, changes=changes)
            if raw
            else self.state.set_size(daily_name)
        )
        history = self._daily_history(transfer.recipient_id, day, changed=raw)
        baseline = sum(history) / len(history) if history else None
        facts.far_above_baseline = bool(
            baseline
            and facts.daily_subjects_after >= BASELINE_MIN
            and facts.daily_subjects_after > BASELINE_FACTOR * baseline
        )

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
