"""``piplwatch dashboard --prometheus URL [--broker kafka://...]``: the built-in dashboard for a whole deployment.

Serves the same page as a worker, with ``/api/summary`` built from Prometheus (all workers) and, when a broker is
given, the latest alerts read from ``piplwatch.alerts`` (masked evidence only).
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
import urllib.parse
from typing import Any

import aiohttp
from aiohttp import web

from stream.web.guard import content_security_policy, guard, load_web_auth
from stream.web.server import STATIC
from stream.web.summary import BUCKET_SECONDS, BUCKETS, TOP_RECIPIENTS, alert_view, rule_texts, tiers

logger = logging.getLogger(__name__)


class PromSummary:
    """Builds the dashboard summary from Prometheus queries."""

    def __init__(self, prometheus: str, session: aiohttp.ClientSession) -> None:
        self.base = prometheus.rstrip("/")
        self.session = session
        self.alerts: collections.deque[dict[str, Any]] = collections.deque(maxlen=50)
        self.rules = rule_texts()

    async def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        async with self.session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as r:
            return (await r.json())["data"]["result"]

    async def query_range(self, expr: str, start: float, end: float, step: int) -> list[dict[str, Any]]:
        url = f"{self.base}/api/v1/query_range?" + urllib.parse.urlencode(
            {"query": expr, "start": start, "end": end, "step": step}
        )
        async with self.session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as r:
            return (await r.json())["data"]["result"]

    async def snapshot(self) -> dict[str, Any]:
        now = time.time()
        end = int(now // BUCKET_SECONDS * BUCKET_SECONDS)
        start = end - (BUCKETS - 1) * BUCKET_SECONDS
        q = await asyncio.gather(
            self.query("sum by (verdict) (piplwatch_transfers_total)"),
            self.query("sum(piplwatch_dlq_total)"),
            self.query_range(
                f"sum by (verdict) (increase(piplwatch_transfers_total[{BUCKET_SECONDS}s])) * {60 // BUCKET_SECONDS}",
                start,
                end,
                BUCKET_SECONDS,
            ),
            self.query("sum by (recipient, rule_id) (piplwatch_recipient_violations_total)"),
            self.query("sum by (category) (piplwatch_findings_total) > 0"),
            self.query("max by (sensitivity) (piplwatch_cbdt_individuals_ytd)"),
            self.query("min(piplwatch_state_ready)"),
            self.query("max by (kind) (piplwatch_state_records)"),
            self.query("max(piplwatch_last_processed_timestamp_seconds)"),
        )
        totals, dlq, rng, recips, cats, cbdt, ready, records, last = q
        val = lambda r: float(r["value"][1])  # noqa: E731
        series = {(s["metric"].get("verdict")): {int(t): float(v) for t, v in s["values"]} for s in rng}
        timeline = [
            {"t": t, **{k: series.get(k, {}).get(t, 0.0) for k in ("allow", "warning", "violation")}}
            for t in range(start, end + 1, BUCKET_SECONDS)
        ]
        by_recipient: dict[str, dict[str, int]] = collections.defaultdict(dict)
        for r in recips:
            if val(r) > 0:
                by_recipient[r["metric"]["recipient"]][r["metric"]["rule_id"]] = int(val(r))
        top = sorted(by_recipient.items(), key=lambda kv: -sum(kv[1].values()))[:TOP_RECIPIENTS]
        recs = {r["metric"].get("kind"): int(val(r)) for r in records}
        return {
            "generated_at": now,
            "worker": {
                "ready": bool(ready and val(ready[0]) >= 1),
                "consents": recs.get("consent", 0),
                "agreements": recs.get("agreement", 0),
                "last_processed": val(last[0]) if last else None,
            },
            "totals": {
                **dict.fromkeys(("allow", "warning", "violation"), 0),
                **{r["metric"]["verdict"]: int(val(r)) for r in totals},
                "dead_letter": int(val(dlq[0])) if dlq else 0,
            },
            "timeline": timeline,
            "bucket_seconds": BUCKET_SECONDS,
            "recipients": [{"recipient": r, "name": r, "violations": sum(c.values()), "by_rule": c} for r, c in top],
            "categories": {r["metric"]["category"]: int(val(r)) for r in sorted(cats, key=lambda r: -val(r))},
            "cross_border": {
                "pi": 0,
                "spi": 0,
                **{r["metric"]["sensitivity"]: int(val(r)) for r in cbdt},
                "tiers": tiers(),
            },
            "alerts": list(self.alerts)[:20],
        }

    async def follow_alerts(self, bootstrap: str, topic: str, kwargs: dict[str, Any]) -> None:
        from aiokafka import AIOKafkaConsumer

        c = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=100,
            **kwargs,
        )
        await c.start()
        try:
            async for m in c:
                try:
                    self.alerts.appendleft(alert_view(json.loads(m.value), self.rules))
                except (ValueError, KeyError, TypeError):
                    logger.warning("skipped a malformed alert record at offset %d", m.offset)
        finally:
            await c.stop()


async def serve(
    prometheus: str,
    host: str,
    port: int,
    bootstrap: str | None,
    alerts_topic: str,
    kafka_kwargs: dict[str, Any],
    auth_file: str | None = None,
) -> None:
    """Run until cancelled (with credentials from ``auth_file`` when given)."""
    async with aiohttp.ClientSession() as session:
        summary = PromSummary(prometheus, session)
        csp = content_security_policy((STATIC / "dashboard.html").read_text(encoding="utf-8"))
        app = web.Application(middlewares=[guard(load_web_auth(auth_file) if auth_file else None, csp)])

        async def api(_: web.Request) -> web.Response:
            try:
                return web.json_response(await summary.snapshot(), headers={"Cache-Control": "no-store"})
            except (TimeoutError, aiohttp.ClientError, KeyError) as exc:
                return web.json_response({"error": f"Prometheus unavailable: {type(exc).__name__}"}, status=502)

        async def index(_: web.Request) -> web.FileResponse:
            return web.FileResponse(STATIC / "dashboard.html")

        app.router.add_get("/api/summary", api)
        app.router.add_get("/", index)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        tasks = [asyncio.create_task(summary.follow_alerts(bootstrap, alerts_topic, kafka_kwargs))] if bootstrap else []
        print(f"piplwatch dashboard on http://{host}:{port}/ (Prometheus {prometheus})", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            for t in tasks:
                t.cancel()
            await runner.cleanup()
