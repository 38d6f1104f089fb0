"""CN_USCC: Unified Social Credit Code (GB 32100-2015), 18 characters, mod 31 check.

An organisational identifier; PI only for sole proprietors (entity type 92).
"""

from __future__ import annotations

from detectors.base import Check, Detector, Pattern
from detectors.validators import cn_uscc

C = "[0-9A-HJ-NPQRTUWXY]"


class CnUsccDetector(Detector):
    """USCC; all-digit readings lose to a valid resident ID on the same span."""

    ENTITY = "CN_USCC"
    PATTERNS = (Pattern("CN_USCC 18 chars (weak)", rf"[1-9A-HJ-NPQRTUWY][1-9A-HJ-NPQRTUWY][0-9]{{6}}{C}{{10}}", 0.3),)
    CONTEXT = (
        "统一社会信用代码",
        "社会信用代码",
        "信用代码",
        "营业执照",
        "纳税人识别号",
        "税号",
        "uscc",
        "credit code",
        "tax id",
    )
    PRIORITY = 15

    def check(self, value: str) -> Check:
        return Check.PASS if cn_uscc.is_valid(value) else Check.FAIL

    def score(self, value: str, base: float, check: Check, context: bool) -> float | None:
        if check is not Check.PASS:
            return None
        if value.isdigit() and not context:
            return 0.3  # an all-digit 18-char code passes mod 31 by chance often: require letters or context
        return 1.0 if context else 0.85
