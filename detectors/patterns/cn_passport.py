"""CN_PASSPORT: PRC passports. E/G + 8 digits, E + letter (not I/O) + 7 digits, SE/PE/DE + 7 digits.

No public checksum: the E+letter+7 shape starts medium, the others need context (identifiers.md §2.5).
"""

from __future__ import annotations

from detectors.base import Detector, Pattern
from detectors.patterns._common import PASSPORT_CONTEXT


class CnPassportDetector(Detector):
    """PRC ordinary and service passports."""

    ENTITY = "CN_PASSPORT"
    PATTERNS = (
        Pattern("CN_PASSPORT E+letter+7 (medium)", r"E[A-HJ-NP-Z][0-9]{7}", 0.3),
        Pattern("CN_PASSPORT E/G+8 (weak)", r"[EG][0-9]{8}", 0.1),
        Pattern("CN_PASSPORT SE/PE/DE+7 (weak)", r"[SPD]E[0-9]{7}", 0.1),
    )
    CONTEXT = PASSPORT_CONTEXT
    CONTEXT_REQUIRED = True
    PRIORITY = 30
