"""HK_ID: Hong Kong Identity Card, 1-2 letters + 6 digits + check in (optional) parentheses, mod 11."""

from __future__ import annotations

from detectors.base import Check, Detector, Pattern
from detectors.patterns._common import PASSPORT_CONTEXT
from detectors.validators import hkid


class HkIdDetector(Detector):
    """HKID with its mod-11 check (identifiers.md §2.6)."""

    ENTITY = "HK_ID"
    PATTERNS = (
        Pattern("HK_ID with check (medium)", r"[A-Z]{1,2}[0-9]{6}(?:\(|（)[0-9A](?:\)|）)", 0.5),
        Pattern("HK_ID bare (weak)", r"[A-Z]{1,2}[0-9]{7}|[A-Z]{1,2}[0-9]{6}A", 0.3),
    )
    CONTEXT = ("香港身份证", "香港身份證", "身份證號碼", "hkid", "hong kong identity card", "身份证")
    PRIORITY = 20
    #: a passport number under a passport label is a passport number, whatever the mod 11 says
    NEGATIVE_CONTEXT = PASSPORT_CONTEXT

    def check(self, value: str) -> Check:
        return Check.PASS if hkid.is_valid(value) else Check.FAIL

    def score(self, value: str, base: float, check: Check, context: bool) -> float | None:
        """The bare form (no brackets) passes mod 11 one time in eleven by chance (a passport ``EQ0339861`` does):
        without Hong Kong context it stays at its pattern score, below the default threshold."""
        if check is Check.PASS and not context and "(" not in value and "（" not in value:
            return base
        return super().score(value, base, check, context)
