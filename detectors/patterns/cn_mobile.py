"""CN_MOBILE: mainland mobile numbers, 1[3-9] + 9 digits, optional +86/0086/86, 3-4-4 grouping.

Valid prefixes from libphonenumber metadata (python-phonenumbers 9.0.43, identifiers.md §3.1):
an unallocated prefix keeps the candidate but lowers its score.
"""

from __future__ import annotations

from detectors.base import CONTEXT_BOOST, Boundary, Check, Detector, Pattern
from detectors.normalize import digits_only
from detectors.patterns._common import MOBILE_CONTEXT

INVALID_PREFIXES = frozenset(
    [
        "140",
        "141",
        "142",
        "143",
        "144",
        "146",
        "148",
        "149",
        "154",
        "160",
        "161",
        "163",
        "164",
        "168",
        "169",
        "174",
        "179",
        "194",
    ]
)
ALLOCATED_EXCEPTIONS = ("1610", "17400", "17401", "17402", "17403", "17404", "17405")
UNALLOCATED_SCORE = 0.3


def national_number(value: str) -> str:
    """The 11-digit national number (country code stripped)."""
    d = digits_only(value)
    return d[-11:]


class CnMobileDetector(Detector):
    """Mainland mobile numbers."""

    ENTITY = "CN_MOBILE"
    PATTERNS = (
        Pattern(
            "CN_MOBILE 11-digit (medium)", r"(?:(?:\+|00)?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}", 0.6, Boundary.DIGIT
        ),
    )
    CONTEXT = MOBILE_CONTEXT
    PRIORITY = 40
    SUBJECT_KIND = "mobile"

    def normalize(self, value: str) -> str:
        return national_number(value)

    def score(self, value: str, base: float, check: Check, context: bool) -> float | None:
        # ``check`` is always NOT_APPLICABLE here (no checksum): ``Detector.score``'s context branch, inlined (hot)
        number = value[-11:] if len(value) == 11 and value.isdigit() and value.isascii() else national_number(value)
        if number[:3] in INVALID_PREFIXES and not number.startswith(ALLOCATED_EXCEPTIONS):
            base = UNALLOCATED_SCORE  # keep, but below threshold unless context supports it
        if check is not Check.NOT_APPLICABLE:
            return super().score(value, base, check, context)
        return min(base + CONTEXT_BOOST, 1.0) if context else min(base, 1.0)
