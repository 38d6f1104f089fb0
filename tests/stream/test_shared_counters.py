"""Two workers count each other's subjects: the cross-border year-to-date tiers and the per-recipient daily counts are
over everything the deployment judged, not over one worker's partitions (real broker, two worker processes)."""

from __future__ import annotations

import re

import orjson
import pytest

from stream.settings import Settings
from stream.topics import ensure_topics
from tests.stream.harness import TOPICS, WorkerProc, producer, read_topic, send_json, transfer

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _agreement(rid: str, country: str) -> dict:
    return {
        "schema": "piplwatch.agreement/v1",
        "recipient_id": rid,
        "role": "independent_handler",
        "allowed_categories": ["basic_profile", "contact"],
        "allowed_purposes": ["marketing"],
        "valid_from": "2020-01-01T00:00:00+00:00",
        "valid_to": None,
        "terminated_at": None,
        "country": country,
        "cross_border_mechanism": "none",
        "max_subjects_per_day": None,
    }


def _judged(worker: WorkerProc) -> float:
    m = re.search(r'^piplwatch_messages_processed_total\{outcome="judged"\} (\S+)', worker.metrics(), re.M)
    return float(m[1]) if m else 0.0


def _verdict(bootstrap: str, tid: str) -> dict:
    ms = read_topic(bootstrap, TOPICS.verdicts, until=lambda ms: any(m.key == tid.encode() for m in ms), timeout=60)
    return next(orjson.loads(m.value) for m in ms if m.key == tid.encode())


def test_two_workers_share_cross_border_ytd_counts_so_the_tier_fires_on_the_deployment_total(
    broker, key_file, tmp_path
) -> None:
    ensure_topics(Settings(broker=broker.url, partitions=2))
    prod = producer(broker.bootstrap)
    send_json(prod, TOPICS.agreements, "r-sg", _agreement("r-sg", "SG"))
    prod.flush()
    workers = [WorkerProc(broker.bootstrap, tmp_path, key_file).start() for _ in range(2)]
    try:
        # both workers own a partition: a transfer without personal information to each, until both judged one
        for i in range(200):
            for p in (0, 1):
                prod.send(
                    TOPICS.transfers,
                    key=f"warm-{i}-{p}".encode(),
                    partition=p,
                    value=orjson.dumps(transfer(f"warm-{i}-{p}", {"note": "no personal information"})),
                )
            prod.flush()
            _verdict(broker.bootstrap, f"warm-{i}-1")
            if all(_judged(w) > 0 for w in workers):
                break
        assert all(_judged(w) > 0 for w in workers), "one worker never got a partition: nothing would be tested"
        before = [_judged(w) for w in workers]
        # four sampled exports of 30,000 people each (2 named in the sample), alternating partitions: 120,000 in all,
        # 60,000 per worker, so only counts shared across workers reach the 100,000 tier (TA-19)
        rules = []
        for i in range(4):
            sample = [{"user_id": f"cb-{i}-{j}", "手机": f"1390{i:03d}{j:04d}"} for j in range(2)]
            t = transfer(f"cb-{i}", sample, rid="r-sg", country="SG", record_count=30_000)
            prod.send(TOPICS.transfers, key=t["transfer_id"].encode(), partition=i % 2, value=orjson.dumps(t))
            prod.flush()
            rules.append(_verdict(broker.bootstrap, t["transfer_id"])["rules"])
        assert [_judged(w) - b for w, b in zip(workers, before)] == [2, 2], "the exports were not split between workers"
        assert "TA-19" not in rules[0] and "TA-19" not in rules[1] and "TA-19" not in rules[2]
        assert "TA-21" in rules[2], rules  # 90,000: approaching the tier
        assert "TA-19" in rules[3], rules  # 120,000 across both workers
        ytd = [
            float(re.search(r'^piplwatch_cbdt_individuals_ytd\{sensitivity="pi"\} (\S+)', w.metrics(), re.M)[1])
            for w in workers
        ]
        assert max(ytd) == 120_000, ytd
    finally:
        for w in workers:
            w.stop()
        prod.close()
