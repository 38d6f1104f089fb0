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


def test_monitoring_alertmanager_inhibits_a_warning_only_for_the_same_named_recipient(tmp_path) -> None:
    """A live Alertmanager, both ways: a critical for recipient r1 inhibits r1's warning, not r2's; a critical with
    no recipient (PiplwatchStalled) inhibits nothing (before, it silenced every warning without a recipient, the
    cross-border tier warning included)."""
    import json as _json
    import socket
    import time
    import urllib.request

    def free() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    port = free()
    cfg = yaml.safe_load(AM.read_text())
    for r in cfg["receivers"]:  # nobody listens: the test reads Alertmanager's own view of inhibition
        for w in r.get("webhook_configs", []):
            w["url"] = f"http://127.0.0.1:{free()}/"
    (tmp_path / "am.yml").write_text(yaml.safe_dump(cfg))
    proc = subprocess.Popen(
        [
            tool("prometheus-alertmanager"),
            f"--config.file={tmp_path / 'am.yml'}",
            f"--storage.path={tmp_path}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/api/v2/alerts"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base, timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        alerts = [
            {"alertname": "PiplwatchStalled", "severity": "critical"},
            {
                "alertname": "PiplwatchCrossBorderTierApproaching",
                "severity": "warning",
                "sensitivity": "pi",
                "tier": "standard_contract",
            },
            {"alertname": "PiplwatchUnauthorizedTransfer", "severity": "critical", "recipient": "r1"},
            {"alertname": "PiplwatchDataAfterWithdrawalOrTermination", "severity": "warning", "recipient": "r1"},
            {"alertname": "PiplwatchDataAfterWithdrawalOrTermination", "severity": "warning", "recipient": "r2"},
        ]
        req = urllib.request.Request(
            base,
            data=_json.dumps([{"labels": a} for a in alerts]).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(req, timeout=5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            got = _json.load(urllib.request.urlopen(base, timeout=5))
            if len(got) == len(alerts):
                break
            time.sleep(0.2)
        state = {(a["labels"]["alertname"], a["labels"].get("recipient")): a["status"]["inhibitedBy"] for a in got}
        assert state[("PiplwatchDataAfterWithdrawalOrTermination", "r1")]  # same recipient: inhibited
        assert not state[("PiplwatchDataAfterWithdrawalOrTermination", "r2")]
        assert not state[("PiplwatchCrossBorderTierApproaching", None)]  # a critical without recipient: not
    finally:
        proc.terminate()
        proc.wait(10)


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
