"""Generate deploy artefacts from their single sources. Run: python deploy/generate.py

- deploy/k8s/stream-prometheusRule.yaml   from deploy/prometheus/rules/piplwatch.rules.yml
- deploy/grafana/dashboards/piplwatch.json from PANELS below (every expression is checked by promtool and
  queried against a live Prometheus in tests/deploy/test_alert_chain.py)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
RULES = HERE / "prometheus" / "rules" / "piplwatch.rules.yml"
PROMETHEUS_RULE = HERE / "k8s" / "stream-prometheusRule.yaml"
DASHBOARD = HERE / "grafana" / "dashboards" / "piplwatch.json"

# (title, type, [(expr, legend)], unit, grid position w/h)
PANELS = [
    (
        "Transfers per minute by verdict",
        "timeseries",
        [("sum by (verdict) (rate(piplwatch_transfers_total[5m])) * 60", "{{verdict}}")],
        "short",
        12,
        8,
    ),
    (
        "Violations by rule (1h)",
        "barchart",
        [("sum by (rule_id) (increase(piplwatch_violations_total[1h]))", "{{rule_id}}")],
        "short",
        12,
        8,
    ),
    (
        "Violations by recipient (1h)",
        "barchart",
        [("sum by (recipient) (increase(piplwatch_recipient_violations_total[1h]))", "{{recipient}}")],
        "short",
        8,
        8,
    ),
    (
        "Findings by category (1h)",
        "piechart",
        [("sum by (category) (increase(piplwatch_findings_total[1h]))", "{{category}}")],
        "short",
        8,
        8,
    ),
    (
        "Subjects exposed (1h)",
        "stat",
        [("sum by (coverage) (increase(piplwatch_subjects_exposed_total[1h]))", "{{coverage}}")],
        "short",
        8,
        8,
    ),
    (
        "Cross-border individuals YTD vs tiers",
        "timeseries",
        [
            ("max by (sensitivity) (piplwatch_cbdt_individuals_ytd)", "{{sensitivity}} YTD"),
            ("max by (sensitivity, tier) (piplwatch_cbdt_tier_individuals)", "{{sensitivity}} tier: {{tier}}"),
        ],
        "short",
        12,
        8,
    ),
    (
        "Dead-letter messages (1h)",
        "timeseries",
        [("sum by (reason) (increase(piplwatch_dlq_total[1h]))", "{{reason}}")],
        "short",
        12,
        8,
    ),
    (
        "Transfer to verdict latency",
        "timeseries",
        [
            ("histogram_quantile(0.99, sum by (le) (rate(piplwatch_transfer_latency_seconds_bucket[5m])))", "p99"),
            ("histogram_quantile(0.5, sum by (le) (rate(piplwatch_transfer_latency_seconds_bucket[5m])))", "p50"),
            (
                "histogram_quantile(0.99, sum by (le) (rate(piplwatch_detection_duration_seconds_bucket[5m])))",
                "detection p99",
            ),
        ],
        "s",
        12,
        8,
    ),
    (
        "Worker health",
        "stat",
        [
            ('up{job="piplwatch"}', "up {{instance}}"),
            ("piplwatch_state_ready", "state ready {{instance}}"),
            ("time() - piplwatch_last_processed_timestamp_seconds", "seconds since last verdict {{instance}}"),
            ("piplwatch_kafka_up", "Kafka reachable {{instance}}"),
        ],
        "short",
        12,
        8,
    ),
    (
        "Transfers waiting (consumer lag) and event-loop delay",
        "timeseries",
        [
            ("sum by (instance) (piplwatch_consumer_lag_messages)", "waiting {{instance}}"),
            (
                "histogram_quantile(0.99, sum by (le, instance) (rate(piplwatch_event_loop_lag_seconds_bucket[5m])))",
                "loop delay p99 {{instance}}",
            ),
        ],
        "short",
        12,
        8,
    ),
    (
        "Worker state on disk",
        "timeseries",
        [("sum by (instance, store) (piplwatch_state_disk_bytes)", "{{store}} {{instance}}")],
        "bytes",
        12,
        8,
    ),
]


def dashboard() -> dict:
    panels, x, y, row_h = [], 0, 0, 0
    for i, (title, kind, targets, unit, w, h) in enumerate(PANELS, 1):
        if x + w > 24:
            x, y = 0, y + row_h
            row_h = 0
        panels.append(
            {
                "id": i,
                "title": title,
                "type": kind,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"x": x, "y": y, "w": w, "h": h},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [
                    {
                        "refId": chr(65 + j),
                        "expr": e,
                        "legendFormat": lg,
                        "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    }
                    for j, (e, lg) in enumerate(targets)
                ],
            }
        )
        x += w
        row_h = max(row_h, h)
    return {
        "title": "piplwatch: outbound personal information",
        "uid": "piplwatch",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "tags": ["piplwatch", "pipl"],
        "templating": {
            "list": [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"}]
        },
        "panels": panels,
    }


def prometheus_rule() -> str:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    doc = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "piplwatch",
            "labels": {
                "app.kubernetes.io/name": "piplwatch",
                "app.kubernetes.io/component": "stream",
                "prometheus": "k8s",
                "role": "alert-rules",
            },
        },
        "spec": {"groups": groups},
    }
    header = "# GENERATED by deploy/generate.py from deploy/prometheus/rules/piplwatch.rules.yml: do not edit.\n"
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)


def outputs() -> dict[Path, str]:
    return {PROMETHEUS_RULE: prometheus_rule(), DASHBOARD: json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"}


def main() -> int:
    check = "--check" in sys.argv
    stale = []
    for path, text in outputs().items():
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print("stale generated files (run python deploy/generate.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
