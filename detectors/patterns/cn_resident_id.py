"""CN_RESIDENT_ID: 18-character citizen identity number (GB 11643-1999).

6-digit region + YYYYMMDD + 3-digit sequence + MOD 11-2 check (0-9 or X). Province-level
region check only: historic county codes stay valid. https://openstd.samr.gov.cn (GB 11643-1999)
"""

from __future__ import annotations

from typing import Any

from detectors.base import Check, Detector, Pattern
from detectors.patterns._common import ID_CONTEXT
from detectors.validators import cn_ric

DATE = r"(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
ENTITY = "CN_RESIDENT_ID"
PATTERNS = (
    Pattern("CN_RESIDENT_ID 18-digit (medium)", rf"[1-7][0-9]{{5}}{DATE}[0-9]{{3}}[0-9Xx]", 0.4),
    Pattern("CN_RESIDENT_ID 6-8-4 grouped (medium)", r"[1-7][0-9]{5}[ -](?:18|19|20)[0-9]{6}[ -][0-9]{3}[0-9Xx]", 0.4),
)
CONTEXT = ID_CONTEXT


def age_under_14(number: str) -> bool:
    """Whether the holder is under 14 today (PIPL Art. 28/31)."""
    return cn_ric.born_after_cutoff(number, 14)


class CnResidentIdDetector(Detector):
    """Mainland resident ID; 81/82/83 and leading-9 numbers have their own detectors."""

    ENTITY = ENTITY
    PATTERNS = PATTERNS
    CONTEXT = CONTEXT
    PRIORITY = 10
    SUBJECT_KIND = "id_number"

    def normalize(self, value: str) -> str:
        return value.upper() if len(value) == 18 else cn_ric.compact(value)  # 18 characters: no separators

    def check(self, value: str) -> Check:
        if value[:2] not in cn_ric.MAINLAND_PROVINCES:
            return Check.FAIL
        return Check.PASS if cn_ric.is_valid(value) else Check.FAIL

    def attributes(self, value: str) -> dict[str, Any]:
        # the birth date's digits are all it reads: an 18-character value has no separators to strip
        return {"age_under_14": age_under_14(value if len(value) == 18 else cn_ric.compact(value))}
