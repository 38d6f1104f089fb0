"""Prometheus rules, Alertmanager routes, the Grafana dashboard and generated manifests, checked with the real tools."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
RULES = DEPLOY / "prometheus" / "rules" / "piplwatch.rules.yml"
AM = DEPLOY / "alertmanager" / "alertmanager.yml"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed (.ci/run installs the Debian packages prometheus and prometheus-alertmanager)"
        )
    return path


def run(*cmd: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_monitoring_promtool_check_rules() -> None:
    r = run(tool("promtool"), "check", "rules", str(RULES))
    assert r.returncode == 0, r.stdout + r.stderr


def test_monitoring_promtool_test_rules() -> None:
    r = run(tool("promtool"), "test", "rules", "piplwatch.rules.test.yml", cwd=DEPLOY / "prometheus" / "tests")
    assert r.returncode == 0, r.stdout + r.stderr


def test_monitoring_every_alert_is_tested_on_both_sides_and_has_a_runbook_section() -> None:
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r]
    tests = yaml.safe_load((DEPLOY / "prometheus" / "tests" / "piplwatch.rules.test.yml").read_text())["tests"]
    runbook = (DEPLOY / "runbook.md").read_text()
    for rule in rules:
        cases = [c for t in tests for c in t.get("alert_rule_test", []) if c["alertname"] == rule["alert"]]
        assert any(c["exp_alerts"] for c in cases) and any(not c["exp_alerts"] for c in cases), rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning") and "for" in rule
        assert {"summary", "description", "runbook_url"} <= set(rule["annotations"])
        assert f"## {rule['alert']}" in runbook
        assert rule["annotations"]["runbook_url"].endswith("#" + rule["alert"].lower())


@pytest.mark.parametrize(
    "labels,receivers",
    [
        ("severity=critical alertname=PiplwatchUnauthorizedTransfer recipient=r1", "security-pager,compliance-channel"),
        ("severity=warning alertname=PiplwatchDLQGrowing", "compliance-channel"),
        ("severity=warning alertname=PiplwatchDataAfterWithdrawalOrTermination recipient=r1", "compliance-channel"),
    ],
)
def test_monitoring_alertmanager_routes(labels, receivers) -> None:
    amtool = tool("amtool")
    assert run(amtool, "check-config", str(AM)).returncode == 0
    r = run(
        amtool, "config", "routes", "test", f"--config.file={AM}", f"--verify.receivers={receivers}", *labels.split()
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_monitoring_alertmanager_inhibits_warning_by_critical_for_same_recipient() -> None:
    inhibit = yaml.safe_load(AM.read_text())["inhibit_rules"]
    assert inhibit == [
        {"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'], "equal": ["recipient"]}
    ]


def dashboard_exprs() -> list[str]:
    board = json.loads((DEPLOY / "grafana" / "dashboards" / "piplwatch.json").read_text())
    return [t["expr"] for p in board["panels"] for t in p["targets"]]


def test_monitoring_dashboard_expressions_pass_promtool(tmp_path) -> None:
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [{"record": f"dashboard:panel_{i}", "expr": e} for i, e in enumerate(dashboard_exprs())],
            }
        ]
    }
    f = tmp_path / "dashboard.rules.yml"
    f.write_text(yaml.safe_dump(rules))
    r = run(tool("promtool"), "check", "rules", str(f))
    assert r.returncode == 0, r.stdout + r.stderr


def test_monitoring_generated_files_are_current() -> None:
    r = run(sys.executable, str(DEPLOY / "generate.py"), "--check")
    assert r.returncode == 0, r.stderr


def test_monitoring_manifests_parse() -> None:
    for f in list((DEPLOY / "k8s").glob("*.yaml")) + [DEPLOY / "compose" / "docker-compose.yaml"]:
        docs = list(yaml.safe_load_all(f.read_text()))
        assert docs and all(isinstance(d, dict) for d in docs), f
