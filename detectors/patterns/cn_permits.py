"""Travel permits (identifiers.md §2.5); no public checksum, so context is mandatory for all of them.

- CN_HOME_RETURN_PERMIT (回乡证): H/M + 8-digit lifelong number (+ 2-digit renewal count); HA/MA + 7.
- CN_TAIWAN_COMPATRIOT_PERMIT (台胞证): 8-digit lifelong number (older booklets: + 2 digits).
- CN_HK_MACAO_TRAVEL_PERMIT (往来港澳通行证): C + 8 digits, C + letter (not I/O) + 7 digits.
"""

from __future__ import annotations

from detectors.base import Boundary, Detector, Pattern


class CnHomeReturnPermitDetector(Detector):
    """Mainland travel permit for HK and Macao residents."""

    ENTITY = "CN_HOME_RETURN_PERMIT"
    PATTERNS = (
        Pattern("CN_HOME_RETURN_PERMIT H/M+8(+2) (weak)", r"[HM][0-9]{8}(?:[0-9]{2})?", 0.1),
        Pattern("CN_HOME_RETURN_PERMIT HA/MA+7 (weak)", r"[HM]A[0-9]{7}", 0.1),
    )
    CONTEXT = (
        "回乡证",
        "港澳居民来往内地通行证",
        "来往内地通行证",
        "home return permit",
        "mainland travel permit",
        "hrp",
        "回鄉證",
    )
    CONTEXT_REQUIRED = True
    PRIORITY = 30


class CnTaiwanCompatriotPermitDetector(Detector):
    """Mainland travel permit for Taiwan residents: the 8-digit number is everywhere, so context decides."""

    ENTITY = "CN_TAIWAN_COMPATRIOT_PERMIT"
    PATTERNS = (
        Pattern("CN_TAIWAN_COMPATRIOT_PERMIT 8(+2) digits (weak)", r"[0-9]{8}(?:[0-9]{2})?", 0.05, Boundary.ALNUM),
    )
    CONTEXT = ("台胞证", "台湾居民来往大陆通行证", "台胞證", "mtp", "taiwan compatriot")
    CONTEXT_REQUIRED = True
    PRIORITY = 40


class CnHkMacaoTravelPermitDetector(Detector):
    """Exit-entry permit to HK/Macao for mainland residents."""

    ENTITY = "CN_HK_MACAO_TRAVEL_PERMIT"
    PATTERNS = (
        Pattern("CN_HK_MACAO_TRAVEL_PERMIT C+8 (weak)", r"C[0-9]{8}", 0.1),
        Pattern("CN_HK_MACAO_TRAVEL_PERMIT C+letter+7 (weak)", r"C[A-HJ-NP-Z][0-9]{7}", 0.1),
    )
    CONTEXT = ("往来港澳通行证", "港澳通行证", "通行证", "exit-entry permit", "eep", "往來港澳通行證")
    CONTEXT_REQUIRED = True
    PRIORITY = 30
