"""MO_ID: Macau resident identity card (BIR), [01578] + 6 digits + (digit). No public checksum: context required."""

from __future__ import annotations

from detectors.base import Detector, Pattern


class MoIdDetector(Detector):
    """Macau BIR numbers such as 1234567(8)."""

    ENTITY = "MO_ID"
    PATTERNS = (Pattern("MO_ID 7+(1) (weak)", r"[01578][0-9]{6}(?:\(|（)?[0-9](?:\)|）)?", 0.1),)
    CONTEXT = ("澳门身份证", "澳門居民身份證", "澳门居民身份证", "bir", "macau id")
    CONTEXT_REQUIRED = True
    PRIORITY = 35
