"""CN_LICENSE_PLATE: GA 36-2018 plates. Province + authority letter + 5 (or 6 new-energy) characters.

No checksum; at least two digits in the serial keep words such as 京ABCDE out.
"""

from __future__ import annotations

from detectors.base import Boundary, Check, Detector, Pattern

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PROV = "(?:" + "|".join(PROVINCES) + ")"
_SUFFIX = "(?:警|学|挂|港|澳|领|使|试)"


class CnLicensePlateDetector(Detector):
    """Ordinary and new-energy plates."""

    ENTITY = "CN_LICENSE_PLATE"
    PATTERNS = (
        Pattern(
            "CN_LICENSE_PLATE new-energy (medium)",
            rf"{_PROV}[A-HJ-NP-Z][ ·]?(?:[DF][A-HJ-NP-Z0-9][0-9]{{4}}|[0-9]{{5}}[DF])",
            0.6,
            Boundary.ALNUM,
        ),
        Pattern(
            "CN_LICENSE_PLATE ordinary (medium)",
            rf"{_PROV}[A-HJ-NP-Z][ ·]?[A-HJ-NP-Z0-9]{{5}}{_SUFFIX}?",
            0.55,
            Boundary.ALNUM,
        ),
    )
    CONTEXT = ("车牌", "车牌号", "车牌号码", "号牌", "号牌号码", "plate", "license plate", "plate_no", "cph")
    PRIORITY = 50
    SUBJECT_KIND = "plate"

    def normalize(self, value: str) -> str:
        return value.replace(" ", "").replace("·", "").upper()

    def check(self, value: str) -> Check:
        serial = self.normalize(value)[2:]
        return Check.NOT_APPLICABLE if sum(c.isdigit() for c in serial) >= 2 else Check.FAIL
