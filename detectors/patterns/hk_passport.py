"""HK_PASSPORT / MO_PASSPORT: HKSAR (K/H + 8 digits, KJ + 7) and MSAR (MA + 7) passports; context required."""

from __future__ import annotations

from detectors.base import Detector, Pattern
from detectors.patterns._common import PASSPORT_CONTEXT


class HkPassportDetector(Detector):
    """HKSAR passport numbers."""

    ENTITY = "HK_PASSPORT"
    PATTERNS = (
        Pattern("HK_PASSPORT K/H+8 (weak)", r"[KH][0-9]{8}", 0.1),
        Pattern("HK_PASSPORT KJ+7 (weak)", r"KJ[0-9]{7}", 0.1),
    )
    CONTEXT = PASSPORT_CONTEXT + ("香港护照", "香港特区护照")
    CONTEXT_REQUIRED = True
    PRIORITY = 31


class MoPassportDetector(Detector):
    """MSAR passport numbers."""

    ENTITY = "MO_PASSPORT"
    PATTERNS = (Pattern("MO_PASSPORT MA+7 (weak)", r"MA[0-9]{7}", 0.1),)
    CONTEXT = PASSPORT_CONTEXT + ("澳门护照", "澳门特区护照")
    CONTEXT_REQUIRED = True
    PRIORITY = 31
