"""CN_FOREIGNER_PR_ID: 2023 foreigner permanent residence ID card (18 digits, leading 9, MOD 11-2)."""

from __future__ import annotations

from detectors.base import Check, Detector, Pattern
from detectors.patterns.cn_resident_id import DATE
from detectors.validators import cn_ric


class CnForeignerPrIdDetector(Detector):
    """9 + province (2) + nationality (3) + birth date + sequence + check."""

    ENTITY = "CN_FOREIGNER_PR_ID"
    PATTERNS = (Pattern("CN_FOREIGNER_PR_ID 18-digit (medium)", rf"9[0-9]{{5}}{DATE}[0-9]{{3}}[0-9Xx]", 0.4),)
    CONTEXT = ("永久居留身份证", "外国人永久居留", "永居证", "中国绿卡", "permanent residence", "pr card", "证件号")
    PRIORITY = 10
    SUBJECT_KIND = "id_number"

    def check(self, value: str) -> Check:
        return Check.PASS if cn_ric.is_valid(value) else Check.FAIL
