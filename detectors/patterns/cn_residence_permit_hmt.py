"""CN_RESIDENCE_PERMIT_HMT: residence permit for HK/Macau/Taiwan residents (810000/820000/830000 + date + MOD 11-2)."""

from __future__ import annotations

from detectors.base import Check, Detector, Pattern
from detectors.patterns._common import ID_CONTEXT
from detectors.patterns.cn_resident_id import DATE
from detectors.validators import cn_ric


class CnResidencePermitHmtDetector(Detector):
    """Same checksum as the resident ID, prefixes 81/82/83 + 0000."""

    ENTITY = "CN_RESIDENCE_PERMIT_HMT"
    PATTERNS = (Pattern("CN_RESIDENCE_PERMIT_HMT 18-digit (medium)", rf"8[123]0000{DATE}[0-9]{{3}}[0-9Xx]", 0.4),)
    CONTEXT = ID_CONTEXT + ("港澳台居民居住证", "港澳居民居住证", "台湾居民居住证")
    PRIORITY = 10
    SUBJECT_KIND = "id_number"

    def check(self, value: str) -> Check:
        return Check.PASS if cn_ric.is_valid(value) else Check.FAIL
