"""TW_NATIONAL_ID / TW_RESIDENT_CERT: letter + 1/2 (citizen) or 8/9 (resident) + 8 digits, weighted mod 10."""

from __future__ import annotations

from detectors.base import Check, Detector, Pattern
from detectors.validators import tw_id

TW_CONTEXT = (
    "身分證",
    "身分證字號",
    "國民身分證",
    "統一編號",
    "居留證",
    "統一證號",
    "taiwan id",
    "national id",
    "arc",
    "ui number",
    "身份证",
)


class TwNationalIdDetector(Detector):
    """Taiwan national ID."""

    ENTITY = "TW_NATIONAL_ID"
    PATTERNS = (Pattern("TW_NATIONAL_ID (medium)", r"[A-Z][12][0-9]{8}", 0.3),)
    CONTEXT = TW_CONTEXT
    PRIORITY = 20

    def check(self, value: str) -> Check:
        return Check.PASS if tw_id.is_valid(value) else Check.FAIL


class TwResidentCertDetector(TwNationalIdDetector):
    """Taiwan new-format resident certificate (UI number): same checksum, second character 8 or 9."""

    ENTITY = "TW_RESIDENT_CERT"
    PATTERNS = (Pattern("TW_RESIDENT_CERT (medium)", r"[A-Z][89][0-9]{8}", 0.3),)
