"""GEO_COORDINATE and DATE_OF_BIRTH (identifiers.md §3.9)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from detectors.base import Boundary, Check, Detector, Pattern

_NUM = re.compile(r"-?[0-9]+\.[0-9]+")
CN_LAT = (3.8, 53.6)
CN_LON = (73.5, 135.1)


class GeoCoordinateDetector(Detector):
    """Decimal lat/lon pairs with 4+ decimals; inside China's bounding box they score higher."""

    ENTITY = "GEO_COORDINATE"
    PATTERNS = (
        Pattern(
            "GEO_COORDINATE pair (medium)",
            r"-?[0-9]{1,3}\.[0-9]{4,10} ?[,，/ ] ?-?[0-9]{1,3}\.[0-9]{4,10}",
            0.5,
            Boundary.DIGIT,
        ),
    )
    CONTEXT = (
        "经度",
        "纬度",
        "经纬度",
        "定位",
        "位置",
        "坐标",
        "轨迹",
        "lat",
        "lng",
        "lon",
        "latitude",
        "longitude",
        "location",
        "gps",
    )
    PRIORITY = 40

    def normalize(self, value: str) -> str:
        return ",".join(f"{float(x):.4f}" for x in _NUM.findall(value))

    def check(self, value: str) -> Check:
        nums = [float(x) for x in _NUM.findall(value)]
        if len(nums) != 2:
            return Check.FAIL
        a, b = nums
        in_cn = (CN_LAT[0] <= a <= CN_LAT[1] and CN_LON[0] <= b <= CN_LON[1]) or (
            CN_LAT[0] <= b <= CN_LAT[1] and CN_LON[0] <= a <= CN_LON[1]
        )
        if in_cn:
            return Check.PASS
        return Check.NOT_APPLICABLE if abs(a) <= 180 and abs(b) <= 180 else Check.FAIL

    def score(self, value: str, base: float, check: Check, context: bool) -> float | None:
        if check is Check.FAIL:
            return None
        s = 0.65 if check is Check.PASS else 0.3
        return min(1.0, s + (0.3 if context else 0.0))


_DATE_PARTS = re.compile(r"([0-9]{4})[-/.年]?([0-9]{1,2})[-/.月]?([0-9]{1,2})")


def parse_date(value: str) -> dt.date | None:
    """Parse YYYY-MM-DD, YYYY/M/D, YYYY年M月D日 or YYYYMMDD."""
    m = _DATE_PARTS.match(value)
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


class DateOfBirthDetector(Detector):
    """Dates next to a birth-date word; every other date is left alone."""

    ENTITY = "DATE_OF_BIRTH"
    PATTERNS = (
        Pattern(
            "DATE_OF_BIRTH separated (weak)",
            r"(?:19|20)[0-9]{2}(?:[-/.][0-9]{1,2}[-/.][0-9]{1,2}|年[0-9]{1,2}月[0-9]{1,2}日?)",
            0.1,
            Boundary.DIGIT,
        ),
        Pattern(
            "DATE_OF_BIRTH compact (weak)",
            r"(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])",
            0.05,
            Boundary.ALNUM,
        ),
    )
    CONTEXT = (
        "出生日期",
        "出生年月",
        "生日",
        "出生",
        "dob",
        "birthday",
        "birth_date",
        "birthdate",
        "date of birth",
        "csrq",
    )
    CONTEXT_REQUIRED = True
    PRIORITY = 55
    SUBJECT_KIND = "dob"

    def normalize(self, value: str) -> str:
        d = parse_date(value)
        return d.isoformat() if d else value

    def check(self, value: str) -> Check:
        d = parse_date(value)
        if d is None or d > dt.date.today() or d.year < 1900:
            return Check.FAIL
        return Check.NOT_APPLICABLE

    def attributes(self, value: str) -> dict[str, Any]:
        d = parse_date(value)
        if d is None:
            return {}
        today = dt.date.today()
        age = today.year - d.year - ((today.month, today.day) < (d.month, d.day))
        return {"age_under_14": age < 14}
