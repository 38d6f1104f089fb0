"""The registry discovers every detector; every entity is documented in the README table."""

from __future__ import annotations

from pathlib import Path

import pytest

from detectors import entity_names
from detectors.registry import detector_classes
from detectors.taxonomy import CATEGORIES, ENTITY_CLASSES

REQUIRED = [
    "CN_RESIDENT_ID",
    "CN_RESIDENT_ID_LEGACY",
    "CN_RESIDENCE_PERMIT_HMT",
    "CN_FOREIGNER_PR_ID",
    "CN_PASSPORT",
    "HK_PASSPORT",
    "MO_PASSPORT",
    "CN_HOME_RETURN_PERMIT",
    "CN_TAIWAN_COMPATRIOT_PERMIT",
    "CN_HK_MACAO_TRAVEL_PERMIT",
    "HK_ID",
    "MO_ID",
    "TW_NATIONAL_ID",
    "CN_MOBILE",
    "CN_LANDLINE",
    "CN_BANK_CARD",
    "CN_USCC",
    "CN_LICENSE_PLATE",
    "VEHICLE_VIN",
    "CN_QQ",
    "CN_WECHAT_ID",
    "CN_ALIPAY_UID",
    "EMAIL_ADDRESS",
    "IP_ADDRESS",
    "MAC_ADDRESS",
    "IMEI",
    "GEO_COORDINATE",
    "DATE_OF_BIRTH",
]


@pytest.mark.parametrize("entity", REQUIRED)
def test_registry_has_every_required_detector(entity: str) -> None:
    assert entity in entity_names()


@pytest.mark.parametrize("cls", detector_classes(), ids=lambda c: c.ENTITY)
def test_registry_detector_is_classified_and_documented(cls) -> None:
    assert cls.ENTITY in ENTITY_CLASSES and ENTITY_CLASSES[cls.ENTITY][0] in CATEGORIES
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"`{cls.ENTITY}`" in readme
    assert cls.PATTERNS and all(
        p.name.startswith(cls.ENTITY)
        or cls.ENTITY.endswith("MASKED")
        or p.name.startswith(cls.ENTITY.split("_MASKED")[0])
        for p in cls.PATTERNS
    )
