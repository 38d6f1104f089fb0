"""The worker's web endpoint (loopback by default): /metrics, /healthz, /api/summary, /api/alerts, / (dashboard)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from stream.web.guard import content_security_policy, guard, load_web_auth

STATIC = Path(__file__).with_name("static")


async def start_web(runtime: Any, host: str, port: int, auth_file: str | None = None) -> web.AppRunner:
    """Serve the endpoints of ``runtime`` on ``host:port`` (with credentials from ``auth_file`` when given)."""
    page = STATIC / "dashboard.html"
    csp = content_security_policy(page.read_text(encoding="utf-8") if page.exists() else "")
    app = web.Application(middlewares=[guard(load_web_auth(auth_file) if auth_file else None, csp)])

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(runtime.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_: web.Request) -> web.Response:
        """Readiness: state caught up and Kafka reachable (503 otherwise, with which one is missing)."""
        state, kafka = runtime.materializer.ready.is_set(), runtime.health.up
        return web.json_response(
            {"ready": state and kafka, "state": state, "kafka": kafka}, status=200 if state and kafka else 503
        )

    async def livez(_: web.Request) -> web.Response:
        """Liveness: the event loop answers (judging runs off it, so a busy worker stays live)."""
        return web.json_response({"live": True})

    async def alerts(_: web.Request) -> web.Response:
        return web.json_response({"alerts": list(reversed(runtime.recent_alerts[-50:]))})

    async def summary(_: web.Request) -> web.Response:
        last = runtime.metrics.last_processed._value.get() or None  # noqa: SLF001 - our own gauge
        snap = runtime.summary.snapshot(
            ready=runtime.materializer.ready.is_set(),
            consents=runtime.state.consent_count,
            agreements=runtime.state.agreement_count,
            last=last,
        )
        return web.json_response(snap, headers={"Cache-Control": "no-store"})

    async def index(_: web.Request) -> web.StreamResponse:
        page = STATIC / "dashboard.html"
        if not page.exists():
            return web.Response(text="piplwatch worker: see /metrics", content_type="text/plain")
        return web.FileResponse(page)

    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/livez", livez)
    app.router.add_get("/api/alerts", alerts)
    app.router.add_get("/api/summary", summary)
    app.router.add_get("/", index)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
