"""GB/T 35273-2020 categories and sensitivity classes per entity (identifiers.md §8).

Categories are the enum the rule engine and the agreements use:
basic_profile, identity_document, contact, financial_account, online_identifier, device,
location, vehicle, education_work, biometric, health, minor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: the entity types the NER model and the field rules report (the model's labels are these names)
NER_LABELS = ("PERSON", "LOCATION", "ORGANIZATION", "ADDRESS")

CATEGORIES = (
    "basic_profile",
    "identity_document",
    "contact",
    "financial_account",
    "online_identifier",
    "device",
    "location",
    "vehicle",
    "education_work",
    "biometric",
    "health",
    "minor",
)
SENSITIVITIES = ("spi", "spi_equivalent", "pi", "pi_deidentified", "organisational")
#: sensitivities that need separate consent under PIPL Art. 29 (project default: IDs count)
SENSITIVE = frozenset({"spi", "spi_equivalent"})

_ID = ("identity_document", "spi_equivalent")
ENTITY_CLASSES: dict[str, tuple[str, str]] = {
    "CN_RESIDENT_ID": _ID,
    "CN_RESIDENT_ID_LEGACY": _ID,
    "CN_RESIDENCE_PERMIT_HMT": _ID,
    "CN_FOREIGNER_PR_ID": _ID,
    "CN_PASSPORT": _ID,
    "HK_PASSPORT": _ID,
    "MO_PASSPORT": _ID,
    "CN_HOME_RETURN_PERMIT": _ID,
    "CN_TAIWAN_COMPATRIOT_PERMIT": _ID,
    "CN_HK_MACAO_TRAVEL_PERMIT": _ID,
    "HK_ID": _ID,
    "MO_ID": _ID,
    "TW_NATIONAL_ID": _ID,
    "TW_RESIDENT_CERT": _ID,
    "CN_MOBILE": ("contact", "pi"),
    "CN_LANDLINE": ("contact", "pi"),
    "EMAIL_ADDRESS": ("contact", "pi"),
    "CN_BANK_CARD": ("financial_account", "spi"),
    "CN_USCC": ("basic_profile", "organisational"),
    "CN_LICENSE_PLATE": ("vehicle", "pi"),
    "VEHICLE_VIN": ("vehicle", "pi"),
    "CN_QQ": ("online_identifier", "pi"),
    "CN_WECHAT_ID": ("online_identifier", "pi"),
    "CN_ALIPAY_UID": ("online_identifier", "pi"),
    "IP_ADDRESS": ("online_identifier", "pi"),
    "MAC_ADDRESS": ("device", "pi"),
    "IMEI": ("device", "pi"),
    "GEO_COORDINATE": ("location", "spi"),
    "DATE_OF_BIRTH": ("basic_profile", "pi"),
    "PERSON": ("basic_profile", "pi"),
    "ADDRESS": ("basic_profile", "pi"),
    "LOCATION": ("location", "pi"),
    "ORGANIZATION": ("education_work", "organisational"),
    "CN_MOBILE_MASKED": ("contact", "pi_deidentified"),
    "CN_RESIDENT_ID_MASKED": ("identity_document", "pi_deidentified"),
    "CN_BANK_CARD_MASKED": ("financial_account", "pi_deidentified"),
    "EMAIL_MASKED": ("contact", "pi_deidentified"),
    "CN_NAME_MASKED": ("basic_profile", "pi_deidentified"),
    "HASHED_IDENTIFIER": ("online_identifier", "pi_deidentified"),
}

#: entities that identify a person directly (TA-15 "false anonymisation")
DIRECT_IDENTIFIERS = frozenset(
    {
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
        "TW_RESIDENT_CERT",
        "CN_MOBILE",
        "CN_BANK_CARD",
        "EMAIL_ADDRESS",
        "CN_QQ",
        "CN_WECHAT_ID",
        "CN_ALIPAY_UID",
    }
)


def sensitivity_of(sensitivity: str, attributes: Mapping[str, Any]) -> str:
    """A finding's sensitivity given its derived attributes: all PI of a child under 14 is sensitive (PIPL Art. 28)."""
    return "spi" if attributes.get("age_under_14") else sensitivity


def classify(entity: str) -> tuple[str, str]:
    """Return ``(category, sensitivity)`` for an entity type."""
    return ENTITY_CLASSES.get(entity, ("basic_profile", "pi"))
