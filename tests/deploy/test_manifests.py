"""Kubernetes manifests, the image and the compose stack, checked offline: core resources against the Kubernetes
API schemas (kubernetes-validate, strict), Pod Security "restricted" and the probes the worker needs, the scrape
job label the alerts select on, and what the compose stack must not do (default logins, alerts to 127.0.0.1).

checkov and hadolint need network or a separate binary, so they are run by hand (README, "Deploy on Apache Kafka"):
the last run gave checkov 86 passed, 0 failed, 4 skipped with reasons in the manifests' annotations, and hadolint
clean on the Dockerfile."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
CORE = [
    "stream-statefulSet.yaml",
    "stream-service.yaml",
    "stream-podDisruptionBudget.yaml",
    "stream-networkPolicy.yaml",
]


def _doc(name: str) -> dict:
    return yaml.safe_load((K8S / name).read_text())


@pytest.mark.parametrize("name", CORE)
def test_manifests_core_resources_validate_against_the_kubernetes_schemas(name) -> None:
    import kubernetes_validate

    kubernetes_validate.validate(_doc(name), kubernetes_validate.latest_version(), strict=True)


def test_manifests_kustomization_lists_every_manifest() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("stream-*.yaml")}


def test_manifests_worker_pod_passes_pod_security_restricted_and_has_its_probes() -> None:
    sts = _doc("stream-statefulSet.yaml")
    pod = sts["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert (
        pod["securityContext"]["runAsNonRoot"] is True
        and pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    )
    (c,) = pod["containers"]
    sc = c["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"] and "add" not in sc["capabilities"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] >= 1000 and sc["seccompProfile"]["type"] == "RuntimeDefault"
    assert not any(k in pod for k in ("hostNetwork", "hostPID", "hostIPC"))
    assert c["startupProbe"]["httpGet"]["path"] == "/healthz" and c["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/livez" and c["livenessProbe"]["failureThreshold"] >= 3
    env = {e["name"]: e for e in c["env"]}
    # credentials are mounted files, never env values; the only writable mounts are the state volume and /tmp
    assert "PIPLWATCH_SASL_PASSWORD" not in env and env["PIPLWATCH_SASL_PASSWORD_FILE"]["value"].startswith("/etc/")
    for name in ("PIPLWATCH_HMAC_KEY_FILE", "PIPLWATCH_SSL_CAFILE", "PIPLWATCH_WEB_AUTH_FILE"):
        assert env[name]["value"].startswith("/etc/piplwatch/")
    writable = {m["mountPath"] for m in c["volumeMounts"] if not m.get("readOnly")}
    assert writable == {"/var/lib/piplwatch", "/tmp"} and env["PIPLWATCH_STATE_DIR"]["value"] == "/var/lib/piplwatch"
    assert "--web-bind" in c["args"] and "PIPLWATCH_WEB_AUTH_FILE" in env  # beyond loopback: with credentials


def test_manifests_scrape_job_is_piplwatch_as_the_alerts_expect() -> None:
    sm, svc = _doc("stream-serviceMonitor.yaml"), _doc("stream-service.yaml")
    assert sm["spec"]["jobLabel"] == "app.kubernetes.io/name"
    assert svc["metadata"]["labels"]["app.kubernetes.io/name"] == "piplwatch"
    assert sm["spec"]["endpoints"][0]["authorization"]["credentials"]["name"] == "piplwatch-web"
    rules = (ROOT / "deploy" / "prometheus" / "rules" / "piplwatch.rules.yml").read_text()
    assert 'up{job="piplwatch"}' in rules


def test_manifests_image_runs_as_a_numeric_user_with_a_healthcheck() -> None:
    df = (ROOT / "deploy" / "compose" / "Dockerfile").read_text()
    final = df.split("\nFROM ")[-1]
    user = re.search(r"^USER (\S+)$", final, re.M)
    assert user and re.fullmatch(r"\d+:\d+", user[1]) and user[1] != "0:0"
    assert "HEALTHCHECK" in final and "/livez" in final
    assert "PIPLWATCH_STATE_DIR=/var/lib/piplwatch" in final and "chown 10001:10001 /var/lib/piplwatch" in final


def test_manifests_compose_sends_alerts_somewhere_and_has_no_default_logins() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose" / "docker-compose.yaml").read_text())
    am = yaml.safe_load((ROOT / "deploy" / "compose" / "alertmanager.yml").read_text())
    urls = [w["url"] for r in am["receivers"] for w in r["webhook_configs"]]
    assert urls and not any("127.0.0.1" in u or "localhost" in u for u in urls)
    assert all(u.split("/")[2].split(":")[0] in compose["services"] for u in urls)
    grafana = compose["services"]["grafana"]["environment"]
    assert "GF_SECURITY_ADMIN_PASSWORD__FILE" in grafana and grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    for name in ("piplwatch-worker-1",):
        w = compose["services"][name]
        assert w["read_only"] is True and w["user"] == "10001:10001" and w["cap_drop"] == ["ALL"]
        assert w["environment"]["PIPLWATCH_WEB_AUTH_FILE"].startswith("/run/secrets/")
    shared = yaml.safe_load((ROOT / "deploy" / "alertmanager" / "alertmanager.yml").read_text())
    assert am["route"] == shared["route"] and am["inhibit_rules"] == shared["inhibit_rules"]
