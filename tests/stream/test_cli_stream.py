"""`piplwatch consents import` and `piplwatch demo` against the real embedded broker."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import orjson
import pytest

from stream.dev.broker import free_port
from tests.stream.harness import TOPICS, raw_identifier_leaks, read_topic

pytestmark = [pytest.mark.broker, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stream", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def test_cli_consents_import_validates_then_produces(broker, key_file, tmp_path) -> None:
    f = tmp_path / "consents.csv"
    f.write_text(
        "mobile,recipient_id,purposes,categories,kind,granted_at\n"
        "+86 138-0000-1111,r1,marketing;crm,basic_profile;contact,separate,2026-01-01T00:00:00+08:00\n"
        "13900002222,r1,marketing,contact,sometimes,2026-01-01T00:00:00+08:00\n",
        encoding="utf-8",
    )
    r = cli("consents", "import", str(f), "--broker", broker.url, "--hmac-key-file", str(key_file))
    assert r.returncode == 2 and "imported 1 records, rejected 1" in r.stdout
    assert f"{f}:3: " in r.stderr and "kind must be one of" in r.stderr and "Traceback" not in r.stderr
    got = read_topic(broker.bootstrap, TOPICS.consents, until=lambda ms: len(ms) >= 1, timeout=20)
    rec = orjson.loads(got[0].value)
    assert rec["subject"] == {"mobile": "+86 138-0000-1111"} and rec["purposes"] == ["marketing", "crm"]
    j = tmp_path / "agreements.jsonl"
    j.write_text(
        json.dumps(
            {
                "schema": "piplwatch.agreement/v1",
                "recipient_id": "r1",
                "role": "independent_handler",
                "allowed_categories": ["contact"],
                "allowed_purposes": ["marketing"],
                "valid_from": "2026-01-01T00:00:00+08:00",
                "country": "CN",
            }
        )
        + "\n{oops\n"
    )
    r = cli("consents", "import", str(j), "--broker", broker.url)
    assert r.returncode == 2 and "imported 1 records, rejected 1" in r.stdout and f"{j}:2: malformed JSON" in r.stderr
    a = tmp_path / "agreements.csv"
    a.write_text(
        "recipient_id,role,allowed_categories,allowed_purposes,valid_from,country,max_subjects_per_day\n"
        "r2,independent_handler,contact,marketing,2026-01-01T00:00:00+08:00,CN,lots\n"
        "r3,independent_handler,contact,marketing,2026-01-01T00:00:00+08:00,CN,500\n",
        encoding="utf-8",
    )
    r = cli("consents", "import", str(a), "--broker", broker.url)
    assert r.returncode == 2 and "imported 1 records, rejected 1" in r.stdout and "Traceback" not in r.stderr
    assert r.stderr.strip() == f"piplwatch consents import: {a}:2: max_subjects_per_day must be a whole number"


def test_cli_consents_import_keys_compact_per_subject_and_hash_subjects_keeps_raw_ids_off_the_topic(
    broker, key_file, tmp_path
) -> None:
    f = tmp_path / "c.csv"
    f.write_text(
        "mobile,recipient_id,purposes,categories,kind,granted_at\n"
        "13900002222,r-hash,marketing,contact,separate,2026-01-01T00:00:00+08:00\n"
        "13900003333,r-hash,marketing,contact,separate,2026-01-01T00:00:00+08:00\n"
        "13900002222,r-hash,marketing,contact,general,2026-02-01T00:00:00+08:00\n",
        encoding="utf-8",
    )
    r = cli("consents", "import", str(f), "--broker", broker.url, "--hmac-key-file", str(key_file), "--hash-subjects")
    assert r.returncode == 0 and "imported 3 records, rejected 0" in r.stdout, r.stderr
    got = read_topic(broker.bootstrap, TOPICS.consents, until=lambda ms: sum(b"r-hash" in m.key for m in ms) >= 3)
    mine = [m for m in got if m.key.startswith(b"r-hash|")]
    assert len({m.key for m in mine}) == 2  # compaction keeps one record per (recipient, subject)
    for m in mine:
        assert b"1390000" not in m.key and b"1390000" not in m.value
        assert set(orjson.loads(m.value)["subject"]) == {"key"}
    # without the workers' key there is no compaction key: each consent is refused with the reason
    r = cli("consents", "import", str(f), "--broker", broker.url)
    assert r.returncode == 2 and "imported 0 records, rejected 3" in r.stdout and "--hmac-key-file" in r.stderr


def test_cli_consents_import_missing_file() -> None:
    r = cli("consents", "import", "/nonexistent.csv")
    assert r.returncode == 2 and r.stderr.strip() == "piplwatch consents import: /nonexistent.csv: no such file"


def test_cli_worker_refuses_to_start_without_an_hmac_key() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPLWATCH_HMAC")}
    r = subprocess.run([sys.executable, "-m", "stream", "worker"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert r.returncode == 2 and "hmac-key-file" in r.stderr and "Traceback" not in r.stderr


def test_cli_demo_runs_alerts_and_stops_cleanly_leaving_no_raw_identifiers(tmp_path, scanner) -> None:
    web = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stream",
            "demo",
            "--web-port",
            str(web),
            "--dir",
            str(tmp_path / "demo"),
            "--rate",
            "20",
            "--no-ner",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    out_lines: list[str] = []
    metrics = summary = ""
    outputs: list[bytes] = []
    try:
        deadline = time.monotonic() + 90
        broker_url = None
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), False)
        while time.monotonic() < deadline:
            chunk = proc.stdout.read()
            if chunk:
                out_lines += chunk.decode(errors="replace").splitlines()
            text = "\n".join(out_lines)
            broker_url = broker_url or (re.search(r"broker\s+kafka://(127\.0\.0\.1:\d+)", text) or [None, None])[1]
            if sum(line.startswith("ALERT") for line in out_lines) >= 5:
                break
            time.sleep(0.3)
        assert sum(line.startswith("ALERT") for line in out_lines) >= 5, "\n".join(out_lines[-20:])
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{web}/metrics", timeout=5).read().decode()
        summary = urllib.request.urlopen(f"http://127.0.0.1:{web}/api/summary", timeout=5).read().decode()
        for topic in (TOPICS.verdicts, TOPICS.alerts, TOPICS.dlq, TOPICS.counters):
            outputs += [m.value for m in read_topic(broker_url, topic, until=lambda ms: False, timeout=2)]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, _ = proc.communicate()
        out_lines += (rest or b"").decode(errors="replace").splitlines()
    assert any("piplwatch demo stopped" in line for line in out_lines[-3:])
    assert not any("\x1b[" in line for line in out_lines)
    assert subprocess.run(["pgrep", "-f", f"listener-url tcp://{broker_url}"], capture_output=True).returncode == 1
    key = tmp_path / "demo" / "hmac.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and str(key) in "\n".join(out_lines)
    assert any(line.startswith("ALERT") and "TA-" in line for line in out_lines)
    # privacy audit: demo output, metrics page, dashboard data, verdicts/alerts/DLQ, local state files
    texts = {
        "stdout": "\n".join(out_lines),
        "metrics": metrics,
        "summary": summary,
        "outputs": "\n".join(v.decode(errors="ignore") for v in outputs),
    }
    state_files = set()
    for f in (tmp_path / "demo").rglob("*"):
        if f.is_file() and f.name != "hmac.key":
            texts[str(f)] = f.read_bytes().decode("utf-8", errors="ignore")
            state_files.add(str(f))
    from stream.dev.simulator import Simulator

    raws = {p.mobile for p in Simulator().people} | {p.id_number for p in Simulator().people}
    for where, text in texts.items():
        assert not [r for r in raws if r in text], where
        assert raw_identifier_leaks(scanner, text, binary_state=where in state_files) == [], where
    assert outputs, "no verdicts read from the demo broker"


def test_cli_demo_with_duration_stops_by_itself_and_leaves_no_broker(tmp_path) -> None:
    t = time.monotonic()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "stream",
            "demo",
            "--web-port",
            str(free_port()),
            "--dir",
            str(tmp_path / "demo"),
            "--rate",
            "20",
            "--no-ner",
            "--duration",
            "8",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    took = time.monotonic() - t
    broker_url = re.search(r"broker\s+kafka://(127\.0\.0\.1:\d+)", r.stdout)[1]
    assert r.returncode == 0 and r.stdout.rstrip().endswith("piplwatch demo stopped"), r.stdout[-2000:] + r.stderr
    assert took < 60, f"--duration 8 took {took:.0f} s to exit"
    assert "ALERT" in r.stdout and "Traceback" not in r.stderr
    assert subprocess.run(["pgrep", "-f", f"listener-url tcp://{broker_url}"], capture_output=True).returncode == 1
