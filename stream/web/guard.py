"""What every piplwatch web endpoint sends and checks: security headers on every answer, and credentials whenever
it listens beyond loopback.

The credentials file holds either ``user:password`` (HTTP basic auth) or a single token (``Authorization: Bearer``);
``/livez`` and ``/healthz`` stay open so that probes need no secret (they disclose nothing but readiness).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from stream.security import SettingsError

OPEN_PATHS = frozenset({"/livez", "/healthz"})
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.S)


class WebAuth:
    """Credentials for the web endpoint: basic (``user``, ``password``) or a bearer ``token``."""

    def __init__(self, user: str | None, secret: str) -> None:
        self.user = user
        self._secret = secret.encode()

    def allows(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, value = header.partition(" ")
        if self.user is None:
            return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self._secret)
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user.encode(), self.user.encode()) & hmac.compare_digest(
            password.encode(), self._secret
        )

    def __repr__(self) -> str:
        return f"WebAuth({'basic' if self.user else 'bearer'}, <secret hidden>)"


def load_web_auth(path: str) -> WebAuth:
    """Read the credentials file: ``user:password`` or a token of at least 16 characters."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"web auth file {path}: {exc.strerror}") from None
    user, sep, password = text.partition(":")
    if sep:
        if not user or len(password) < 12:
            raise SettingsError(f"web auth file {path}: 'user:password' needs a user and a password of 12+ characters")
        return WebAuth(user, password)
    if len(text) < 16 or any(c.isspace() for c in text):
        raise SettingsError(f"web auth file {path}: a token needs 16+ characters and no spaces")
    return WebAuth(None, text)


def content_security_policy(page: str) -> str:
    """A strict policy for ``page``: nothing but its own inline script and style blocks (by hash), requests to the
    same origin, and no framing."""
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for kind, body in _INLINE.findall(page):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        hashes[kind].append(f"'sha256-{digest}'")
    none = "'none'"
    return (
        "default-src 'none'; "
        f"script-src {' '.join(hashes['script']) or none}; "
        f"style-src {' '.join(hashes['style']) or none}; style-src-attr 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; font-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def guard(auth: WebAuth | None, csp: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    """An aiohttp middleware: credentials (when ``auth``) on everything but the probes, headers on every answer."""

    @web.middleware
    async def middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
        if (
            auth is not None
            and request.path not in OPEN_PATHS
            and not auth.allows(request.headers.get("Authorization"))
        ):
            resp: web.StreamResponse = web.Response(
                status=401, text="authentication required", headers={"WWW-Authenticate": 'Basic realm="piplwatch"'}
            )
        else:
            try:
                resp = await handler(request)
            except web.HTTPException as exc:
                resp = exc
        resp.headers["Content-Security-Policy"] = csp
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    return middleware
