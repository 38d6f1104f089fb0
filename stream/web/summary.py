"""In-process live summary for the built-in dashboard (``/api/summary``): small, bounded, masked."""

from __future__ import annotations

import collections
import time
from typing import TYPE_CHECKING, Any

from stream.authz.engine import load_constants, load_rules

if TYPE_CHECKING:
    from stream.judge import Facts

BUCKET_SECONDS = 15
BUCKETS = 60  # 15 minutes
TOP_RECIPIENTS = 10
ALERTS_KEPT = 50


def tiers() -> dict[str, list[float]]:
    """The cross-border tiers the dashboard draws, from the rules file (any SPI at all needs a mechanism)."""
    c = load_constants()
    return {"pi": [c["cbdt_pi_standard_contract"], c["cbdt_pi_assessment"]], "spi": [1, c["cbdt_spi_assessment"]]}


def alert_view(a: dict[str, Any], rules: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The dashboard's view of an OCSF alert record (masked evidence only)."""
    u = a["unmapped"]
    rule = a["compliance"]["control"]
    texts = rules.get(rule, {})
    return {
        "alert_id": a["alert_id"],
        "time": a["time"],
        "severity": a["severity"].lower(),
        "rule": rule,
        **{k: texts.get(k, "") for k in ("title_en", "title_zh", "explain_en", "explain_zh")},
        "recipient": u["recipient_id"],
        "recipient_name": u["recipient_name"],
        "channel": u["channel"],
        "subjects": u["subjects"],
        "categories": u["categories"],
        "evidence": u["evidence"],
        "citations": a["compliance"]["requirements"],
        "tags": u["tags"],
    }


def rule_texts() -> dict[str, dict[str, str]]:
    """Titles and explanations of every rule, by id."""
    return {
        r.id: {
            "title_en": r.title["en"],
            "title_zh": r.title["zh"],
            "explain_en": r.explain["en"],
            "explain_zh": r.explain["zh"],
            "severity": r.severity,
        }
        for r in load_rules()
    }


class LiveSummary:
    """Aggregates what the worker judged; holds no raw values (alerts carry masked evidence only)."""

    def __init__(self) -> None:
        self.timeline: collections.deque[list[Any]] = collections.deque(maxlen=BUCKETS)
        self.totals: collections.Counter[str] = collections.Counter()
        self.recipients: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        self.recipient_names: dict[str, str] = {}
        self.categories: collections.Counter[str] = collections.Counter()
        self.sensitive: collections.Counter[str] = collections.Counter()
        self.cross_border = {"pi": 0, "spi": 0}
        self.alerts: collections.deque[dict[str, Any]] = collections.deque(maxlen=ALERTS_KEPT)
        self.rules = rule_texts()
        self.tiers = tiers()

    def _bucket(self, now: float) -> list[Any]:
        start = int(now // BUCKET_SECONDS * BUCKET_SECONDS)
        if not self.timeline or self.timeline[-1][0] != start:
            self.timeline.append([start, collections.Counter()])
        return self.timeline[-1]

    def record(self, verdict: dict[str, Any], recipient_name: str, facts: Facts, alerts: list[dict]) -> None:
        """Account one judged transfer."""
        v = verdict["verdict"]
        self._bucket(time.time())[1][v] += 1
        self.totals[v] += 1
        rid = verdict["recipient_id"]
        if v == "violation":
            self.recipient_names[rid] = recipient_name
            for rule in verdict["rules"]:
                if self.rules.get(rule, {}).get("severity") != "info":
                    self.recipients[rid][rule] += 1
        for cat in verdict["categories"]:
            self.categories[cat] += 1
        if facts.cross_border:
            self.cross_border = {"pi": facts.cb_individuals_ytd_after, "spi": facts.cb_spi_individuals_ytd_after}
        for a in alerts:
            self.alerts.appendleft(alert_view(a, self.rules))

    def dead_letter(self) -> None:
        """Account one dead-lettered message."""
        self._bucket(time.time())[1]["dead_letter"] += 1
        self.totals["dead_letter"] += 1

    def snapshot(self, *, ready: bool, consents: int, agreements: int, last: float | None) -> dict[str, Any]:
        """The JSON the dashboard polls."""
        now = time.time()
        start = int(now // BUCKET_SECONDS * BUCKET_SECONDS)
        buckets = {b[0]: b[1] for b in self.timeline}
        per_min = 60 / BUCKET_SECONDS
        timeline = [
            {"t": t, **{k: buckets.get(t, {}).get(k, 0) * per_min for k in ("allow", "warning", "violation")}}
            for t in range(start - (BUCKETS - 1) * BUCKET_SECONDS, start + 1, BUCKET_SECONDS)
        ]
        top = sorted(self.recipients.items(), key=lambda kv: -sum(kv[1].values()))[:TOP_RECIPIENTS]
        return {
            "generated_at": now,
            "worker": {"ready": ready, "consents": consents, "agreements": agreements, "last_processed": last},
            "totals": {k: self.totals.get(k, 0) for k in ("allow", "warning", "violation", "dead_letter")},
            "timeline": timeline,
            "bucket_seconds": BUCKET_SECONDS,
            "recipients": [
                {
                    "recipient": r,
                    "name": self.recipient_names.get(r, r),
                    "violations": sum(c.values()),
                    "by_rule": dict(c.most_common()),
                }
                for r, c in top
            ],
            "categories": dict(self.categories.most_common()),
            "cross_border": {**self.cross_border, "tiers": self.tiers},
            "alerts": list(self.alerts)[:20],
        }
