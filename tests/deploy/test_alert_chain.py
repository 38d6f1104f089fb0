"""The whole alert chain, all real and on loopback: embedded broker -> worker -> Prometheus (1 s scrape, our
rules) -> Alertmanager (our routes) -> a webhook receiver. Then every dashboard panel is queried live.

The rules are loaded with `for:` shortened to 1 s: their timing is covered by promtool tests; this test checks the
wiring (metric names, labels, routing, inhibition) end to end.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from stream.dev.broker import free_port
from stream.settings import Settings
from stream.topics import ensure_topics
from tests.deploy.test_monitoring_config import dashboard_exprs
from tests.stream.harness import TOPICS, WorkerProc, producer, send_json, transfer

pytestmark = [pytest.mark.broker, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BOUND_SECONDS = 30


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


def query(port: int, expr: str) -> list:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)["data"]["result"]


@pytest.fixture
def chain(broker, key_file, tmp_path):
    prom_bin, am_bin = (
        shutil.which("prometheus"),
        shutil.which("prometheus-alertmanager") or shutil.which("alertmanager"),
    )
    if not prom_bin or not am_bin:
        pytest.fail("prometheus and alertmanager must be installed (.ci/run installs them)")
    procs: list[subprocess.Popen] = []
    hook_port, am_port, prom_port = free_port(), free_port(), free_port()
    server = ThreadingHTTPServer(("127.0.0.1", hook_port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Receiver.received = []
    ensure_topics(Settings(broker=broker.url, partitions=2))
    worker = WorkerProc(broker.bootstrap, tmp_path, key_file).start()
    am_cfg = yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())
    am_cfg["route"].update(group_wait="0s", group_interval="1s")
    for r in am_cfg["route"]["routes"]:
        r["group_wait"] = "0s"
    for rcv in am_cfg["receivers"]:
        for w in rcv["webhook_configs"]:
            w["url"] = re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{hook_port}", w["url"])
    (tmp_path / "am.yml").write_text(yaml.safe_dump(am_cfg))
    procs.append(
        subprocess.Popen(
            [
                am_bin,
                f"--config.file={tmp_path / 'am.yml'}",
                f"--storage.path={tmp_path / 'am'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules" / "piplwatch.rules.yml").read_text())
    for g in rules["groups"]:
        for r in g["rules"]:
            if "for" in r:
                r["for"] = "1s"
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules, allow_unicode=True))
    prom_cfg = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp_path / "rules.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": [
            {"job_name": "piplwatch", "static_configs": [{"targets": [f"127.0.0.1:{worker.web_port}"]}]}
        ],
    }
    (tmp_path / "prom.yml").write_text(yaml.safe_dump(prom_cfg))
    procs.append(
        subprocess.Popen(
            [
                prom_bin,
                f"--config.file={tmp_path / 'prom.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    wait_http(f"http://127.0.0.1:{am_port}/-/ready")
    wait_http(f"http://127.0.0.1:{prom_port}/-/ready")
    yield {"prom_port": prom_port, "worker": worker}
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(20)
    worker.stop()
    server.shutdown()


def test_alert_chain_unauthorized_transfer_pages_and_every_panel_has_data(broker, chain) -> None:
    prod = producer(broker.bootstrap)
    for i in range(5):  # some ordinary traffic so that rates and histograms have data
        send_json(prod, TOPICS.transfers, f"t-ok-{i}", transfer(f"t-ok-{i}", [{"sku": i}]))
    prod.flush()
    time.sleep(3)
    t0 = time.monotonic()
    send_json(
        prod,
        TOPICS.transfers,
        "t-leak",
        transfer("t-leak", [{"user_id": "u1", "手机": "13800001111"}], rid="r-databroker"),
    )
    prod.flush()
    page = None
    while time.monotonic() - t0 < BOUND_SECONDS and page is None:
        for path, body in Receiver.received:
            for a in body["alerts"]:
                if a["labels"].get("alertname") == "PiplwatchUnauthorizedTransfer" and path == "/pager":
                    page = a
        time.sleep(0.2)
    elapsed = time.monotonic() - t0
    assert page is not None, f"no page within {BOUND_SECONDS} s: {Receiver.received}"
    assert page["labels"] == {
        "alertname": "PiplwatchUnauthorizedTransfer",
        "recipient": "unregistered",
        "severity": "critical",
    }
    assert page["annotations"]["runbook_url"].endswith("#piplwatchunauthorizedtransfer")
    assert "13800001111" not in json.dumps(Receiver.received)
    print(f"unauthorized transfer paged after {elapsed:.1f} s")
    empty = [e for e in dashboard_exprs() if not query(chain["prom_port"], e)]
    assert empty == [], f"dashboard panels without data: {empty}"
    # the deployment dashboard: Prometheus for the numbers, the alerts topic for the latest alerts
    port = free_port()
    dash = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stream",
            "dashboard",
            "--prometheus",
            f"http://127.0.0.1:{chain['prom_port']}",
            "--port",
            str(port),
            "--broker",
            broker.url,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/")
        deadline = time.monotonic() + 15
        summary: dict = {}
        while time.monotonic() < deadline:
            summary = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/summary", timeout=5))
            if any(a["alert_id"] == "t-leak:TA-01" for a in summary.get("alerts", [])):
                break
            time.sleep(0.5)
        assert summary["totals"]["violation"] >= 1 and summary["totals"]["allow"] >= 5
        assert summary["worker"]["ready"] and any(r["recipient"] == "unregistered" for r in summary["recipients"])
        assert any(a["alert_id"] == "t-leak:TA-01" and a["title_zh"] for a in summary["alerts"])
        assert "13800001111" not in json.dumps(summary)
    finally:
        dash.terminate()
        dash.wait(10)
