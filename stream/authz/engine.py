"""Evaluate rules (data, ``rules.yaml``) over per-transfer facts. Pure: no I/O after loading."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

RULES_FILE = Path(__file__).with_name("rules.yaml")
SEVERITIES = ("info", "low", "medium", "high", "critical")
VERDICTS = ("allow", "warning", "violation")
_OPS = {"gte": lambda a, b: a >= b, "gt": lambda a, b: a > b, "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b,
        "eq": lambda a, b: a == b}


class RuleError(ValueError):
    """The rules file is invalid."""


@dataclass(frozen=True)
class Rule:
    """One rule of the table."""

    id: str
    title: Mapping[str, str]
    explain: Mapping[str, str]
    when: Any
    verdict: str
    severity: str
    citations: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    escalate_to: str | None = None
    escalate_if: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleHit:
    """A rule that fired, with its effective severity."""

    rule: Rule
    severity: str


@dataclass
class Decision:
    """The outcome of one evaluation."""

    verdict: str
    severity: str
    hits: list[RuleHit] = field(default_factory=list)

    @property
    def rule_ids(self) -> list[str]:
        """Ids of the rules that fired, in table order."""
        return [h.rule.id for h in self.hits]


def load_rules(path: str | Path = RULES_FILE) -> list[Rule]:
    """Parse and check a rules file."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RuleError(f"{path}: {exc}") from exc
    rules = []
    seen: set[str] = set()
    for r in data.get("rules", []):
        try:
            rule = Rule(id=r["id"], title=r["title"], explain=r["explain"], when=r["when"], verdict=r["verdict"],
                        severity=r["severity"], citations=tuple(r.get("citations", ())), tags=tuple(r.get("tags", ())),
                        escalate_to=r.get("escalate_to"), escalate_if=tuple(r.get("escalate_if", ())))
        except KeyError as exc:
            raise RuleError(f"{path}: rule {r.get('id', '?')} lacks {exc}") from exc
        if rule.id in seen:
            raise RuleError(f"{path}: duplicate rule id {rule.id}")
        if rule.verdict not in ("violation", "warning", "info") or rule.severity not in SEVERITIES:
            raise RuleError(f"{path}: rule {rule.id} has an unknown verdict or severity")
        seen.add(rule.id)
        _compile(rule.when, rule.id)  # fail at load time, not on the first transfer
        rules.append(rule)
    return rules


class RuleEngine:
    """Runs every rule; deny overrides allow; severity is the maximum over the rules that fired."""

    def __init__(self, rules: list[Rule] | None = None) -> None:
        self.rules = rules if rules is not None else load_rules()
        self.by_id = {r.id: r for r in self.rules}
        self._compiled = [(r, _compile(r.when, r.id)) for r in self.rules]
        self._facts = sorted({name for r in self.rules for name in _fact_names(r.when)})

    def evaluate(self, facts: Mapping[str, Any]) -> Decision:
        """Evaluate all rules over ``facts`` (every fact a rule names must be present)."""
        missing = [f for f in self._facts if f not in facts]
        if missing:
            raise RuleError(f"unknown fact {missing[0]!r}")
        fired: list[Rule] = []
        fired_ids: set[str] = set()
        for rule, pred in self._compiled:
            if pred(facts, fired_ids):
                fired.append(rule)
                fired_ids.add(rule.id)
        hits = []
        for rule in fired:
            sev = rule.severity
            if rule.escalate_to and fired_ids.intersection(rule.escalate_if):
                sev = rule.escalate_to
            hits.append(RuleHit(rule, sev))
        if any(h.rule.verdict == "violation" for h in hits):
            verdict = "violation"
        elif any(h.rule.verdict == "warning" for h in hits):
            verdict = "warning"
        else:
            verdict = "allow"
        severity = max((h.severity for h in hits), key=SEVERITIES.index, default="info")
        return Decision(verdict, severity, hits)


Pred = Callable[[Mapping[str, Any], set], bool]


def _compile(expr: Any, rule_id: str) -> Pred:
    """Turn an expression into a closure once, so evaluation costs a few calls per rule."""
    if isinstance(expr, str):
        return lambda f, _h, n=expr: bool(f[n])
    if isinstance(expr, list):
        return _compile({"all": expr}, rule_id)
    if isinstance(expr, dict) and len(expr) == 1:
        (op, arg), = expr.items()
        if op in ("all", "any"):
            parts = tuple(_compile(e, rule_id) for e in arg)
            agg = all if op == "all" else any
            return lambda f, h: agg(p(f, h) for p in parts)
        if op == "not":
            inner = _compile(arg, rule_id)
            return lambda f, h: not inner(f, h)
        if op == "hit_any":
            ids = frozenset(arg)
            return lambda _f, h: bool(ids & h)
        if op in _OPS:
            name, bound = arg
            cmp = _OPS[op]
            return lambda f, _h: cmp(f[name], bound)
    raise RuleError(f"rule {rule_id}: cannot evaluate {expr!r}")


def _fact_names(expr: Any) -> set[str]:
    if isinstance(expr, str):
        return {expr}
    if isinstance(expr, list):
        return set().union(*(_fact_names(e) for e in expr)) if expr else set()
    (op, arg), = expr.items()
    if op in ("all", "any"):
        return set().union(*(_fact_names(e) for e in arg))
    if op == "not":
        return _fact_names(arg)
    if op in _OPS:
        return {arg[0]}
    return set()
