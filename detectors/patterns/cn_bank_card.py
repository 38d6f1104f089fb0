"""CN_BANK_CARD: 16-19 digit cards (JR/T 0008), grouped 4-4-4-4(-3); Luhn plus BIN and context.

Luhn is not universal in China (hutool #2510/#3611, gogf/gf #3360): a Luhn-failing card with
a UnionPay/known BIN and card context is kept at a medium score instead of dropped.
"""

from __future__ import annotations

from detectors.base import Boundary, Check, Detector, Pattern
from detectors.normalize import digits_only
from detectors.patterns._common import CARD_CONTEXT
from detectors.validators import luhn

try:
    from detectors.validators._checks import distinct_digits as _distinct
except ImportError:  # no C compiler at install
    _distinct = None


def distinct_digits(d: str) -> int:
    """``len(set(d))`` for the digit string ``d`` (compiled where built)."""
    r = _distinct(d) if _distinct is not None else -1
    return r if r >= 0 else len(set(d))


KNOWN_BINS = ("62", "60", "4", "5", "9", "35", "37")
LUHN_FAIL_WITH_CONTEXT = 0.5
UNIONPAY_NO_CONTEXT = 0.6
OTHER_NO_CONTEXT = 0.4


class CnBankCardDetector(Detector):
    """Bank cards (debit and credit)."""

    ENTITY = "CN_BANK_CARD"
    PATTERNS = (
        Pattern(
            "CN_BANK_CARD 16-19 digits (weak)", r"[1-9][0-9]{3}(?:[ -]?[0-9]{4}){2}[ -]?[0-9]{4,7}", 0.3, Boundary.ALNUM
        ),
    )
    CONTEXT = CARD_CONTEXT
    PRIORITY = 25
    SUBJECT_KIND = "bank_card"
    SCORES_FAILED_CHECKS = True

    def normalize(self, value: str) -> str:
        return digits_only(value)

    def check(self, value: str) -> Check:
        d = digits_only(value)
        if not 16 <= len(d) <= 19 or distinct_digits(d) < 3:
            return Check.FAIL
        return Check.PASS if luhn.checksum(d) == 0 else Check.FAIL

    def score(self, value: str, base: float, check: Check, context: bool) -> float | None:
        d = digits_only(value)
        known_bin = d.startswith(KNOWN_BINS)
        if check is Check.PASS:
            if context:
                return 1.0
            # Luhn alone passes 1 in 10 digit strings: without card context only UnionPay 62 reaches threshold
            return UNIONPAY_NO_CONTEXT if d.startswith("62") else OTHER_NO_CONTEXT
        if 16 <= len(d) <= 19 and distinct_digits(d) >= 3 and known_bin and context:
            return LUHN_FAIL_WITH_CONTEXT
        return None
