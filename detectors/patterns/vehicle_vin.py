"""VEHICLE_VIN: 17 characters without I/O/Q, position-9 check (ISO 3779 / 49 CFR 565).

A failed check drops Chinese VINs (WMI starting with L); other VINs keep the pattern score,
since many European VINs carry no check digit.
"""

from __future__ import annotations

from detectors.base import Check, Detector, Pattern
from detectors.validators import vin


class VehicleVinDetector(Detector):
    """VINs with at least one letter and three digits."""

    ENTITY = "VEHICLE_VIN"
    PATTERNS = (Pattern("VEHICLE_VIN 17 chars (weak)", r"[A-HJ-NPR-Z0-9]{17}", 0.3),)
    CONTEXT = ("车架号", "车辆识别代号", "车辆识别码", "车辆识别号", "底盘号", "vin", "chassis number")
    PRIORITY = 35

    def check(self, value: str) -> Check:
        v = value.upper()
        if not any(c.isalpha() for c in v) or sum(c.isdigit() for c in v) < 3:
            return Check.FAIL
        if vin.is_valid(v):
            return Check.PASS
        return Check.FAIL if v.startswith("L") else Check.NOT_APPLICABLE
