"""CN_LANDLINE: 0 + area code (10, 2x or 0[3-9]xx) + 7-8 digit subscriber number, optional extension.

400/800 service numbers belong to companies and are not reported (identifiers.md §3.2).
"""

from __future__ import annotations

from detectors.base import Boundary, Check, Detector, Pattern
from detectors.normalize import digits_only


class CnLandlineDetector(Detector):
    """Fixed-line numbers; separated/parenthesised forms start higher than bare digit runs."""

    ENTITY = "CN_LANDLINE"
    PATTERNS = (
        Pattern(
            "CN_LANDLINE grouped (medium)",
            r"\(?0(?:10|2[0-9]|[3-9][0-9]{2})\)?[ -][2-9][0-9]{2,3}[ -]?[0-9]{4}",
            0.5,
            Boundary.DIGIT,
        ),
        Pattern(
            "CN_LANDLINE parenthesised (medium)",
            r"\(0(?:10|2[0-9]|[3-9][0-9]{2})\)[2-9][0-9]{6,7}",
            0.5,
            Boundary.DIGIT,
        ),
        Pattern("CN_LANDLINE bare (weak)", r"0(?:10|2[0-9]|[3-9][0-9]{2})[2-9][0-9]{6,7}", 0.3, Boundary.DIGIT),
    )
    CONTEXT = (
        "请拨打",
        "拨打",
        "致电",
        "咨询电话",
        "热线",
        "座机",
        "固话",
        "固定电话",
        "办公电话",
        "家庭电话",
        "传真",
        "分机",
        "电话",
        "联系电话",
        "landline",
        "tel",
        "fax",
        "phone",
        "lxdh",
    )
    PRIORITY = 45
    SUBJECT_KIND = "landline"

    def normalize(self, value: str) -> str:
        return digits_only(value)

    def check(self, value: str) -> Check:
        d = digits_only(value)
        if not 10 <= len(d) <= 12 or d.startswith(("0400", "0800")):
            return Check.FAIL
        return Check.NOT_APPLICABLE
