"""CN_RESIDENT_ID_LEGACY: first-generation 15-digit ID (YYMMDD, no check digit). Context is mandatory."""

from __future__ import annotations

from detectors.base import Boundary, Check, Detector, Pattern
from detectors.patterns._common import ID_CONTEXT
from detectors.validators import cn_ric


class CnResidentIdLegacyDetector(Detector):
    """15 digits: region + YYMMDD + sequence; validated by date and province only."""

    ENTITY = "CN_RESIDENT_ID_LEGACY"
    PATTERNS = (
        Pattern(
            "CN_RESIDENT_ID_LEGACY 15-digit (weak)",
            r"[1-6][0-9]{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}",
            0.1,
            Boundary.ALNUM,
        ),
    )
    CONTEXT = ID_CONTEXT
    CONTEXT_REQUIRED = True
    PRIORITY = 12
    SUBJECT_KIND = "id_number"

    def normalize(self, value: str) -> str:
        # the 18-digit form, so a legacy ID matches consents given with the new number
        try:
            return cn_ric.validate_legacy(value)
        except ValueError:
            return cn_ric.compact(value)

    def check(self, value: str) -> Check:
        try:
            cn_ric.validate_legacy(value)
        except ValueError:
            return Check.FAIL
        return Check.NOT_APPLICABLE
