"""The authorization rule engine: pure Python, rules as data (``rules.yaml``), no Faust imports."""

from stream.authz.engine import Rule, RuleEngine, RuleHit, load_rules

__all__ = ["Rule", "RuleEngine", "RuleHit", "load_rules"]
