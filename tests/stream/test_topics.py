"""Topics: the retention the design depends on, planned, created, checked, and enforced at a worker's start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stream.security import SettingsError
from stream.settings import Settings, Topics
from stream.topics import (
    COUNTER_RETENTION_DAYS,
    DAY_MS,
    TopicState,
    check_for_worker,
    ensure_topics,
    problems,
    topic_specs,
)

ROOT = Path(__file__).resolve().parents[2]
# what Apache Kafka reports for a topic created with its defaults
KAFKA_DEFAULTS = {
    "cleanup.policy": "delete",
    "retention.ms": str(7 * DAY_MS),
    "retention.bytes": "-1",
    "delete.retention.ms": str(DAY_MS),
}


def _spec(role_name: str):
    return next(s for s in topic_specs(Settings()) if s.name == role_name)


@pytest.mark.parametrize("name", ["piplwatch.consents", "piplwatch.agreements"])
def test_topics_consent_and_agreement_topics_with_kafkas_default_retention_are_a_problem(name) -> None:
    got = problems(_spec(name), TopicState(4, 3, dict(KAFKA_DEFAULTS)), partitions=4, replication=3)
    assert any("cleanup.policy is delete, needs compact" in p for p in got)
    assert any("records would be deleted" in p for p in got)
    fine = TopicState(4, 3, {**KAFKA_DEFAULTS, "cleanup.policy": "compact", "retention.ms": "-1"})
    assert problems(_spec(name), fine, partitions=4, replication=3) == []
    both = TopicState(4, 3, {**KAFKA_DEFAULTS, "cleanup.policy": "compact,delete"})
    assert problems(_spec(name), both, partitions=4, replication=3)  # compact,delete still deletes


def test_topics_counters_must_outlive_a_year_to_date_set() -> None:
    spec = _spec("piplwatch.counters")
    short = TopicState(4, 3, dict(KAFKA_DEFAULTS))
    assert any("needs at least" in p for p in problems(spec, short, partitions=4, replication=3))
    ok = TopicState(4, 3, {**KAFKA_DEFAULTS, "retention.ms": str(COUNTER_RETENTION_DAYS * DAY_MS)})
    assert problems(spec, ok, partitions=4, replication=3) == []
    assert problems(spec, TopicState(4, 1, ok.configs), partitions=4, replication=3) == [
        "piplwatch.counters: replication factor 1, planned 3"
    ]


def test_topics_a_worker_refuses_consents_that_kafka_would_delete_unless_told_to(monkeypatch, broker) -> None:
    topics = Topics(**{k: f"tw.{v}" for k, v in vars(Topics()).items()})
    settings = Settings(broker=broker.url, partitions=1, topics=topics)
    ensure_topics(settings)
    import stream.topics as t

    real = t.describe

    def as_apache_kafka_reports(admin, names):  # the embedded broker reports no configs: answer as Kafka would
        return {n: TopicState(s.partitions, s.replication, dict(KAFKA_DEFAULTS)) for n, s in real(admin, names).items()}

    monkeypatch.setattr(t, "describe", as_apache_kafka_reports)
    with pytest.raises(SettingsError, match="tw.piplwatch.consents: cleanup.policy is delete"):
        check_for_worker(settings)
    check_for_worker(Settings(broker=broker.url, partitions=1, topics=topics, allow_deleting_topics=True))


def test_topics_created_with_their_configs_and_the_cli_plans_and_checks(broker) -> None:
    plan = subprocess.run([sys.executable, "-m", "stream", "topics", "plan"], capture_output=True, text=True, cwd=ROOT)
    assert plan.returncode == 0 and "piplwatch.consents" in plan.stdout and "forever (compacted)" in plan.stdout
    r = subprocess.run(
        [sys.executable, "-m", "stream", "topics", "apply", "--broker", broker.url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "stream", "topics", "check", "--broker", broker.url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert r.returncode == 0 and "topics: ok" in r.stdout, r.stdout + r.stderr
    assert "cannot verify" in r.stderr  # the embedded broker does not report configs: said, not hidden
