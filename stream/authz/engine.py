"""Evaluate rules (data, ``rules.yaml``) over per-transfer facts. Pure: no I/O after loading."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

RULES_FILE = Path(__file__).with_name("rules.yaml")
SEVERITIES = ("info", "low", "medium", "high", "critical")
VERDICTS = ("allow", "warning", "violation")


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


def _read(path: str | Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RuleError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise RuleError(f"{path}: not a rules file")
    return data


def load_constants(path: str | Path = RULES_FILE) -> dict[str, float]:
    """The named numbers of a rules file (``constants:``), e.g. the cross-border tiers: the one place they are
    written; rules refer to them as ``$name``, and the worker exports the tiers as a metric."""
    consts = _read(path).get("constants") or {}
    if not isinstance(consts, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in consts.values()
    ):
        raise RuleError(f"{path}: constants must map names to finite numbers")
    return dict(consts)


def load_rules(path: str | Path = RULES_FILE) -> list[Rule]:
    """Parse and check a rules file."""
    data = _read(path)
    constants = load_constants(path)
    rules = []
    seen: set[str] = set()
    for r in data.get("rules", []):
        try:
            rule = Rule(
                id=r["id"],
                title=r["title"],
                explain=r["explain"],
                when=r["when"],
                verdict=r["verdict"],
                severity=r["severity"],
                citations=tuple(r.get("citations", ())),
                tags=tuple(r.get("tags", ())),
                escalate_to=r.get("escalate_to"),
                escalate_if=tuple(r.get("escalate_if", ())),
            )
        except KeyError as exc:
            raise RuleError(f"{path}: rule {r.get('id', '?')} lacks {exc}") from exc
        if rule.id in seen:
            raise RuleError(f"{path}: duplicate rule id {rule.id}")
        if rule.verdict not in ("violation", "warning", "info") or rule.severity not in SEVERITIES:
            raise RuleError(f"{path}: rule {rule.id} has an unknown verdict or severity")
        seen.add(rule.id)
        _compile(rule.when, rule.id, constants)  # fail at load time, not on the first transfer
        rules.append(rule)
    return rules


class RuleEngine:
    """Runs every rule; deny overrides allow; severity is the maximum over the rules that fired."""

    def __init__(self, rules: list[Rule] | None = None, constants: Mapping[str, float] | None = None) -> None:
        self.rules = rules if rules is not None else load_rules()
        self.constants = dict(constants) if constants is not None else load_constants()
        self.by_id = {r.id: r for r in self.rules}
        self._compiled = [(r, _compile(r.when, r.id, self.constants)) for r in self.rules]
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


_OP_SRC = {"gte": ">=", "gt": ">", "lt": "<", "lte": "<=", "eq": "=="}
_LITERALS = (bool, int, float, str, type(None))


def _compile(expr: Any, rule_id: str, constants: Mapping[str, float]) -> Pred:
    """Turn an expression into one Python function, once: evaluation is then a single call per rule.

    The source is generated from the closed operator set only; fact names, rule ids and bounds enter it through
    ``repr`` of plain literals, so a rules file cannot inject code.
    """
    src = _source(expr, rule_id, constants)
    return eval(f"lambda f, h: bool({src})", {"__builtins__": {"bool": bool}})  # noqa: S307 - see docstring


def _bound(arg: Any, rule_id: str, constants: Mapping[str, float]) -> Any:
    """A comparison bound: a literal, ``$name`` of a constant, or ``{mul: [bound, bound]}``."""
    if isinstance(arg, str) and arg.startswith("$"):
        if arg[1:] not in constants:
            raise RuleError(f"rule {rule_id}: unknown constant {arg}")
        return constants[arg[1:]]
    if isinstance(arg, dict) and set(arg) == {"mul"} and isinstance(arg["mul"], list) and len(arg["mul"]) == 2:
        a, b = (_bound(x, rule_id, constants) for x in arg["mul"])
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a * b
    if isinstance(arg, _LITERALS) and not (isinstance(arg, float) and not math.isfinite(arg)):
        return arg
    raise RuleError(f"rule {rule_id}: cannot use {arg!r} as a bound")


def _source(expr: Any, rule_id: str, constants: Mapping[str, float]) -> str:
    if isinstance(expr, str):
        return f"f[{expr!r}]"
    if isinstance(expr, list):
        return _source({"all": expr}, rule_id, constants)
    if isinstance(expr, dict) and len(expr) == 1:
        ((op, arg),) = expr.items()
        if op in ("all", "any") and isinstance(arg, list):
            if not arg:
                return "True" if op == "all" else "False"
            joiner = " and " if op == "all" else " or "
            return "(" + joiner.join(f"bool({_source(e, rule_id, constants)})" for e in arg) + ")"
        if op == "not":
            return f"(not {_source(arg, rule_id, constants)})"
        if op == "hit_any" and isinstance(arg, list) and all(isinstance(i, str) for i in arg):
            return f"(not h.isdisjoint({tuple(arg)!r}))"
        if op in _OP_SRC and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str):
            name, bound = arg[0], _bound(arg[1], rule_id, constants)
            return f"(f[{name!r}] {_OP_SRC[op]} {bound!r})"
    raise RuleError(f"rule {rule_id}: cannot evaluate {expr!r}")


def _fact_names(expr: Any) -> set[str]:
    if isinstance(expr, str):
        return {expr}
    if isinstance(expr, list):
        return set().union(*(_fact_names(e) for e in expr)) if expr else set()
    ((op, arg),) = expr.items()
    if op in ("all", "any"):
        return set().union(*(_fact_names(e) for e in arg))
    if op == "not":
        return _fact_names(arg)
    if op in _OP_SRC:
        return {arg[0]}
    return set()
