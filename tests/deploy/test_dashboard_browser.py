"""The built-in dashboard in headless Chromium (Debian's, driven by Playwright): it renders the worker's data,
a fired alert appears within a bound, no raw personal data is on the page. Saves tests/artifacts/dashboard.png."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from stream.dev.simulator import Simulator
from stream.settings import Settings
from stream.topics import ensure_topics
from tests.stream.harness import TOPICS, WorkerProc, producer, raw_identifier_leaks, send_json, transfer

pytestmark = [pytest.mark.broker, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ALERT_BOUND_SECONDS = 10
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_dashboard_renders_live_data_and_shows_a_new_alert(broker, key_file, tmp_path, scanner) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("Debian chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    ensure_topics(Settings(broker=broker.url, partitions=2))
    sim = Simulator(seed=5)
    prod = producer(broker.bootstrap)
    ags, cons = sim.setup()
    for a in ags:
        send_json(prod, TOPICS.agreements, a["recipient_id"], a)
    for c in cons:
        send_json(prod, TOPICS.consents, "c", c)
    raw_values = {p.mobile for p in sim.people} | {p.id_number for p in sim.people}
    for i in range(60):
        t = sim.authorized() if i % 4 else sim.unauthorized()
        send_json(prod, TOPICS.transfers, t["transfer_id"], t)
    for _ in range(15):
        t = sim.unauthorized()
        send_json(prod, TOPICS.transfers, t["transfer_id"], t)
    prod.flush()
    worker = WorkerProc(broker.bootstrap, tmp_path, key_file).start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(f"http://127.0.0.1:{worker.web_port}/")
            page.wait_for_selector("#conn.ok", timeout=15000)
            page.wait_for_function("document.querySelectorAll('#timeline rect').length > 0", timeout=15000)
            page.wait_for_selector("#recipients .bar-row", timeout=15000)
            page.wait_for_selector("#categories .bar-row", timeout=15000)
            assert int(page.inner_text("#k-violation").replace(",", "")) > 0
            assert int(page.inner_text("#k-allow").replace(",", "")) > 0
            # a new unauthorized transfer: its alert must appear on the page within the bound
            send_json(
                prod,
                TOPICS.transfers,
                "t-dash-leak",
                transfer(
                    "t-dash-leak",
                    [{"user_id": "u-x", "手机": "13912345678", "身份证号": "11010519491231002X"}],
                    rid="r-databroker",
                ),
            )
            prod.flush()
            t0 = time.monotonic()
            page.wait_for_selector('tr[data-alert-id="t-dash-leak:TA-01"]', timeout=ALERT_BOUND_SECONDS * 1000)
            elapsed = time.monotonic() - t0
            row = page.inner_text('tr[data-alert-id="t-dash-leak:TA-01"]')
            assert "Recipient not in the registry" in row and "接收方未登记" in row
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
            text = page.inner_text("body")
            html = page.content()
            browser.close()
    finally:
        worker.stop()
        prod.close()
    print(f"alert on the page {elapsed:.1f} s after the transfer was produced")
    for raw in raw_values | {"13912345678", "11010519491231002X"}:
        assert raw not in html
    assert raw_identifier_leaks(scanner, text) == []
