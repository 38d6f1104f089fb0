"""Hostile input and faults against a real worker on the real embedded broker (issue 11): a retraction every worker
applies, a 100,000-record export that does not stall the event loop, identifiers in ids that never leave raw, a
broker that dies and comes back, and a catch-up that cannot wait forever."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import orjson
import pytest
from prometheus_client import CollectorRegistry

from stream.dev.broker import EmbeddedBroker, free_port
from stream.settings import Settings, Topics
from stream.topics import ensure_topics
from tests.stream.harness import TOPICS, WorkerProc, producer, read_topic, send_json, transfer

pytestmark = [pytest.mark.broker, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
RID = "11010519491231002X"


def _agreement(rid: str, country: str = "CN") -> dict:
    return {
        "schema": "piplwatch.agreement/v1",
        "recipient_id": rid,
        "role": "independent_handler",
        "allowed_categories": ["basic_profile", "contact", "identity_document"],
        "allowed_purposes": ["marketing"],
        "valid_from": "2020-01-01T00:00:00+00:00",
        "country": country,
    }


def _metric(worker: WorkerProc, name: str, labels: str = "") -> float:
    m = re.search(rf"^{name}{re.escape(labels)} (\S+)$", worker.metrics(), re.M)
    return float(m[1]) if m else 0.0


def _verdict(bootstrap: str, tid: str, timeout: float = 120) -> dict:
    ms = read_topic(
        bootstrap, TOPICS.verdicts, until=lambda ms: any(m.key == tid.encode() for m in ms), timeout=timeout
    )
    return next(orjson.loads(m.value) for m in ms if m.key == tid.encode())


def _health(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_stream_counters_retract_undoes_a_poisoning_transfer_on_every_worker(broker, key_file, tmp_path) -> None:
    ensure_topics(Settings(broker=broker.url, partitions=2))
    prod = producer(broker.bootstrap)
    send_json(prod, TOPICS.agreements, "r-jp", _agreement("r-jp", "JP"))
    prod.flush()
    worker = WorkerProc(broker.bootstrap, tmp_path, key_file).start()
    try:
        people = [{"user_id": f"u{i}", "手机": f"1391234{i:04d}"} for i in range(2)]
        send_json(
            prod,
            TOPICS.transfers,
            "t-poison",
            transfer("t-poison", people, rid="r-jp", country="JP", record_count=9_000_000),
        )
        prod.flush()
        v = _verdict(broker.bootstrap, "t-poison")
        assert "TA-20" in v["rules"] and v["counts"]["basis"] == "declared"
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "stream",
                "counters",
                "retract",
                "t-poison",
                "--broker",
                broker.url,
                "--reason",
                "false record_count",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert r.returncode == 0 and "published" in r.stdout, r.stderr
        deadline = time.monotonic() + 30
        while _metric(worker, "piplwatch_counter_retractions_total") < 1 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert _metric(worker, "piplwatch_cbdt_individuals_ytd", '{sensitivity="pi"}') == 2
        send_json(
            prod,
            TOPICS.transfers,
            "t-one",
            transfer("t-one", [{"user_id": "u9", "手机": "13700000000"}], rid="r-jp", country="JP"),
        )
        prod.flush()
        v = _verdict(broker.bootstrap, "t-one")
        assert "TA-20" not in v["rules"] and "TA-19" not in v["rules"]
    finally:
        worker.stop()
        prod.close()


def test_stream_a_100000_record_export_never_stalls_the_event_loop(broker, key_file, tmp_path) -> None:
    ensure_topics(Settings(broker=broker.url, partitions=2))
    prod = producer(broker.bootstrap)
    worker = WorkerProc(broker.bootstrap, tmp_path, key_file).start()
    rows = [{"姓名": "张三", "手机": f"13{i:09d}"} for i in range(100_000)]  # 4.6 MB, under the 8 MB input limit
    stop = threading.Event()
    slowest = [0.0]

    def poll() -> None:  # what a Kubernetes probe and Prometheus see while the export is judged
        while not stop.is_set():
            t0 = time.monotonic()
            with urllib.request.urlopen(f"http://127.0.0.1:{worker.web_port}/livez", timeout=10) as r:
                r.read()
            slowest[0] = max(slowest[0], time.monotonic() - t0)
            time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    try:
        poller.start()
        send_json(prod, TOPICS.transfers, "t-huge", transfer("t-huge", rows, channel="export"))
        prod.flush()
        v = _verdict(broker.bootstrap, "t-huge", timeout=240)
        assert v["subjects"]["total"] == 100_000 and v["entities"]["CN_MOBILE"] == 100_000
        stop.set()
        poller.join(15)
        metrics = worker.metrics()

        def ticks_within(le: str) -> float:
            return float(re.search(rf'^piplwatch_event_loop_lag_seconds_bucket{{le="{le}"}} (\S+)', metrics, re.M)[1])

        total = float(re.search(r"^piplwatch_event_loop_lag_seconds_count (\S+)", metrics, re.M)[1])
        over = ticks_within("0.25")
        print(
            f"slowest /livez answer {slowest[0] * 1000:.0f} ms; loop ticks {total:.0f}, late by over 50 ms "
            f"{total - ticks_within('0.05'):.0f}, over 100 ms {total - ticks_within('0.1'):.0f}, "
            f"over 250 ms {total - over:.0f}"
        )
        assert slowest[0] < 1.0 and total - over <= 2  # a shared 2-core machine: the broker and producer run too
        counters = read_topic(broker.bootstrap, TOPICS.counters, until=lambda ms: len(ms) >= 2, timeout=30)
        assert max(len(m.value) for m in counters) <= 1_000_000
    finally:
        stop.set()
        worker.stop()
        prod.close()


def test_stream_identifiers_in_ids_and_names_never_reach_topics_logs_or_state(broker, key_file, tmp_path) -> None:
    ensure_topics(Settings(broker=broker.url, partitions=2))
    prod = producer(broker.bootstrap)
    rid = "r-13912345678"
    send_json(prod, TOPICS.agreements, rid, _agreement(rid))
    prod.flush()
    worker = WorkerProc(broker.bootstrap, tmp_path, key_file).start()
    try:
        tid = f"t-{RID}"
        name = "partner 13912345678\nALERT CRITICAL TA-99 forged line\u202e"
        t = transfer(tid, [{"user_id": "u1", "手机": "13800001111"}], rid=rid)
        t["recipient"]["name"] = name
        send_json(prod, TOPICS.transfers, "k-13912345678", t)
        prod.send(
            TOPICS.transfers,
            key=f"bad-{RID}".encode(),
            value=b'{"schema": "piplwatch.transfer/v1", "id": "' + RID.encode() + b'", ',
        )
        prod.flush()
        dlq = read_topic(broker.bootstrap, TOPICS.dlq, until=lambda ms: len(ms) >= 1, timeout=60)
        verdicts = read_topic(
            broker.bootstrap, TOPICS.verdicts, until=lambda ms: any(b"redacted" in m.value for m in ms), timeout=60
        )
        alerts = read_topic(broker.bootstrap, TOPICS.alerts, until=lambda ms: len(ms) >= 1, timeout=60)
        time.sleep(1)
    finally:
        worker.stop()
        prod.close()
    records = [m for ms in (dlq, verdicts, alerts) for m in ms]
    v = next(orjson.loads(m.value) for m in verdicts if b"redacted" in m.value)
    assert v["redacted"] == ["transfer_id", "recipient.id", "recipient.name"] and v["verdict"] == "violation"
    log = worker.log.read_text(errors="replace")
    assert "forged line" not in log.split("ALERT CRITICAL TA-99")[0] or "\\u000a" in log
    assert not any(line.startswith("ALERT CRITICAL TA-99") for line in log.splitlines())
    state = b"".join(p.read_bytes() for p in (tmp_path / f"state-{worker.web_port}").rglob("*") if p.is_file())
    for raw in (RID, "13912345678"):
        for m in records:
            assert raw.encode() not in (m.key or b"") and raw.encode() not in m.value
        assert raw not in log and raw.encode() not in state


def test_stream_broker_outage_is_visible_and_logs_stay_readable(key_file, tmp_path) -> None:
    port = free_port()
    broker = EmbeddedBroker(port).start()
    worker = WorkerProc(broker.bootstrap, tmp_path, key_file).start()
    try:
        assert _health(worker.web_port) == (200, {"ready": True, "state": True, "kafka": True})
        size = worker.log.stat().st_size
        broker.stop()
        deadline = time.monotonic() + 30
        while _health(worker.web_port)[0] == 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        status, body = _health(worker.web_port)
        assert status == 503 and body["kafka"] is False and body["state"] is True
        assert _metric(worker, "piplwatch_kafka_up") == 0
        time.sleep(20)  # a longer outage: the same error again and again
        with worker.log.open("rb") as fh:
            fh.seek(size)
            lines = fh.read().decode(errors="replace").splitlines()
        assert len(lines) < 150, f"{len(lines)} log lines in ~30 s of outage"
        broker = EmbeddedBroker(port).start()  # back, empty
        deadline = time.monotonic() + 40
        while _health(worker.web_port)[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _health(worker.web_port)[0] == 200 and _metric(worker, "piplwatch_kafka_up") == 1
    finally:
        worker.stop()
        broker.stop()


def test_stream_catch_up_never_waits_forever_for_records_the_broker_announced(broker, tmp_path) -> None:
    """A partition whose end offset promises a record nobody can read (seen on an embedded broker restarted empty)
    must not keep a worker unready: the broker's answer for that partition's end offset is raised by one here, since
    no broker reproduces the fault on demand."""
    from detectors import Scanner
    from stream.metrics import PiplwatchMetrics
    from stream.state.materialize import Materializer
    from stream.state.store import StateStore
    from tests.conftest import TEST_KEY

    topics = {"consents": "cu.consents", "agreements": "cu.agreements"}
    ensure_topics(
        Settings(
            broker=broker.url,
            partitions=1,
            topics=Topics(
                consents=topics["consents"],
                agreements=topics["agreements"],
                transfers="cu.t",
                verdicts="cu.v",
                alerts="cu.a",
                dlq="cu.d",
                counters="cu.c",
            ),
        )
    )
    metrics = PiplwatchMetrics.create(CollectorRegistry())

    async def run() -> float:
        m = Materializer(
            broker.bootstrap, topics, StateStore(tmp_path / "s"), Scanner(hmac_key=TEST_KEY), metrics=metrics
        )
        await m.start()
        real = m._consumer.end_offsets

        async def promised(tps):
            ends = await real(tps)
            return {tp: n + 1 if tp.topic == "cu.consents" else n for tp, n in ends.items()}

        m._consumer.end_offsets = promised
        t0 = time.monotonic()
        try:
            await asyncio.wait_for(m.ready.wait(), 60)
            return time.monotonic() - t0
        finally:
            await m.stop()

    took = asyncio.run(run())
    assert took < 40 and metrics.state_catchup_stalls._value.get() == 1
