"""HK_ID: Hong Kong Identity Card, 1-2 letters + 6 digits + check in (optional) parentheses, mod 11."""

from __future__ import annotations

from detectors.base import Check, Detector, Pattern
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

    def check(self, value: str) -> Check:
        return Check.PASS if hkid.is_valid(value) else Check.FAIL
