"""Masked previews and keyed HMACs: the only forms in which a value leaves ``detectors/``."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path
from typing import Any

HMAC_KEY_ENV = "PIPLWATCH_HMAC_KEY"
HMAC_KEY_FILE_ENV = "PIPLWATCH_HMAC_KEY_FILE"
MASK = "*"


def load_hmac_key(path: str | os.PathLike[str] | None = None) -> bytes:
    """Key from ``path``, ``$PIPLWATCH_HMAC_KEY_FILE`` or ``$PIPLWATCH_HMAC_KEY``; else a per-process random key.

    A random key makes HMACs comparable only within one process: set a key for anything
    that joins across processes (the stream monitor refuses to run without one).
    """
    path = path or os.environ.get(HMAC_KEY_FILE_ENV)
    if path:
        key = Path(path).read_bytes().strip()
        if len(key) < 16:
            raise ValueError(f"HMAC key file {path} holds fewer than 16 bytes")
        return key
    env = os.environ.get(HMAC_KEY_ENV)
    if env:
        return env.encode()
    return secrets.token_bytes(32)


def keyed_hmac(key: bytes, kind: str, normalized: str) -> str:
    """HMAC-SHA256 of ``kind:normalized``, hex, truncated to 128 bits (the reference ``KeyedHasher`` must match)."""
    return hmac.digest(key, f"{kind}:{normalized}".encode(), "sha256")[:16].hex()


_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


class KeyedHasher:
    """``keyed_hmac`` for one key and kind, with the HMAC pads and the ``kind:`` prefix absorbed once (RFC 2104).

    Per value it costs two SHA-256 state copies instead of a full ``hmac.digest`` (about 4x cheaper on the
    scanner's hot path); ``KeyedHasher(key, b"kind:")(value) == keyed_hmac(key, "kind", value)``.
    """

    __slots__ = ("_inner", "_outer", "_pads")

    def __init__(self, key: bytes, prefix: bytes = b"") -> None:
        if len(key) > 64:  # SHA-256 block size
            key = hashlib.sha256(key).digest()
        block = key.ljust(64, b"\0")
        ipad, opad = block.translate(_IPAD), block.translate(_OPAD)
        self._inner = hashlib.sha256(ipad)
        self._inner.update(prefix)
        self._outer = hashlib.sha256(opad)
        self._pads = (ipad, opad, prefix)  # for the compiled core's own SHA-256 (detectors/_sha256.h)

    def __call__(self, normalized: str) -> str:
        inner = self._inner.copy()
        inner.update(normalized.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:16].hex()

    def __repr__(self) -> str:
        return "KeyedHasher(<key hidden>)"


def preview(value: str, entity: str) -> str:
    """A masked preview that keeps the shape but not the identity of the value.

    At most a quarter of the characters stay visible; e-mail keeps only the first letter
    of the local part and the domain; names keep the first character.
    """
    if entity in ("EMAIL_ADDRESS", "EMAIL_MASKED") and "@" in value:
        local, _, domain = value.partition("@")
        return (local[:1] + MASK * 3) + "@" + domain
    if entity in ("PERSON", "CN_NAME_MASKED", "ORGANIZATION"):
        return value[:1] + MASK * max(1, len(value) - 1)
    if entity in ("ADDRESS", "LOCATION"):
        keep = min(len(value) // 3, 6)
        return value[:keep] + MASK * (len(value) - keep)
    n = len(value)
    if n <= 4:
        return value[:1] + MASK * (n - 1)
    head, tail = min(3, n // 4), min(2, n // 6)
    return value[:head] + MASK * (n - head - tail) + (value[n - tail :] if tail else "")


def redact_text(scanner: Any, text: str, *, min_score: float = 0.3) -> str:
    """``text`` with every finding of ``scanner`` (a ``detectors.Scanner``) replaced by its masked preview; a lower
    threshold than reporting, since a half-sure identifier must not leak either."""
    out, last = [], 0
    for f in sorted(scanner.scan(text, min_score=min_score), key=lambda f: f.start):
        if f.start < last:
            continue
        out.append(text[last : f.start])
        out.append(f.preview)
        last = f.end
    out.append(text[last:])
    return "".join(out)


# -- text for people and keys for machines, from untrusted input -----------------------------------------------
#: C0/C1 controls, line and paragraph separators, and the bidirectional formatting characters (U+202A-202E, U+2066-
#: 2069, U+200E/200F, U+061C): a value holding them can forge or reorder log and alert lines
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
#: runs of identifier characters; a run holding 4+ digits is masked whole in excerpts
_ID_RUN = re.compile(r"[0-9A-Za-z\ufffd*#+\-_.@]+")
_DIGIT = re.compile(r"[0-9]")
_LONG_DIGITS = re.compile(r"[0-9]{11}")


def printable(text: str) -> str:
    """``text`` with every control, separator and bidi-formatting character written as ``\\uXXXX``: safe to put on
    one line of a log, a terminal or an alert."""
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def mask_excerpt(scanner: Any, text: str, limit: int, *, min_digits: int = 4) -> str:
    """A human-readable excerpt of untrusted text that holds no personal value: JSON ``\\uXXXX`` escapes decoded and
    full-width forms folded first (so an escaped or full-width ID is seen), every finding replaced by its masked
    preview, then every run of identifier characters that still holds ``min_digits`` or more digits (an ID cut short, split by
    an invalid byte, or not recognised) masked whole, and every e-mail-like run masked; only then cut to ``limit``
    characters, so a cut never leaves a recoverable prefix; controls escaped last."""
    from detectors.normalize import fold

    text = fold(_JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text))
    text = redact_text(scanner, text)
    text = _ID_RUN.sub(
        lambda m: (
            MASK * len(m.group()) if "@" in m.group() or len(_DIGIT.findall(m.group())) >= min_digits else m.group()
        ),
        text,
    )
    return printable(text[:limit])


def safe_ref(scanner: Any, value: str) -> str:
    """An identifier from the input (transfer id, recipient id, Kafka key) as outputs and state may hold it: the
    value itself when it holds no personal information and no control characters, else its masked form plus a keyed
    HMAC prefix (``t-110***********21#3f2a9c1b7d04``): stable across workers that share the key, unique, and
    never the raw value. A run of 11 or more digits counts as personal information even where no detector
    claims it (an ID glued to other characters: ``11010519491231002X0``)."""
    from detectors.normalize import fold

    if (
        not _UNPRINTABLE.search(value)
        and not _LONG_DIGITS.search(fold(value))
        and not scanner.scan(value, min_score=0.3, ner=False)
    ):
        return value
    masked = mask_excerpt(scanner, value, 64)
    return f"{masked}#{scanner.hmac_of('ref', value)[:12]}"
