"""The web endpoint beyond loopback: credentials required (basic or bearer, from a file), probes open, and strict
security headers on every answer (a real worker on the real broker)."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request

import pytest

from tests.stream.harness import WorkerProc

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _get(url: str, auth: str | None = None) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": auth} if auth else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.mark.parametrize(
    "secret,good,bad",
    [
        (
            "ops:correct-horse-battery",
            "Basic " + base64.b64encode(b"ops:correct-horse-battery").decode(),
            "Basic " + base64.b64encode(b"ops:wrong-password-123").decode(),
        ),
        ("0123456789abcdef-token", "Bearer 0123456789abcdef-token", "Bearer 0123456789abcdef-other"),
    ],
)
def test_web_beyond_loopback_requires_credentials_and_sends_strict_headers(
    broker, key_file, tmp_path, secret, good, bad
) -> None:
    auth = tmp_path / "web.auth"
    auth.write_text(secret + "\n")
    w = WorkerProc(broker.bootstrap, tmp_path, key_file, extra=("--web-bind", "0.0.0.0", "--web-auth-file", str(auth)))
    w.start()
    try:
        base = f"http://127.0.0.1:{w.web_port}"
        for path in ("/metrics", "/api/summary", "/api/alerts", "/"):
            assert _get(base + path)[0] == 401
            assert _get(base + path, bad)[0] == 401
            status, headers, body = _get(base + path, good)
            assert status == 200, path
            assert (
                "frame-ancestors 'none'" in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"
            )
            assert headers["X-Content-Type-Options"] == "nosniff"
        assert _get(base + "/livez")[0] == 200 and _get(base + "/healthz")[0] == 200  # probes need no secret
        assert b"piplwatch_build_info" in _get(base + "/metrics", good)[2]
    finally:
        w.stop()
