"""Masked, pseudonymised and hashed forms (identifiers.md §6): still PI, reported with ``masked: true``.

These never count as raw identifiers, so the rule engine can tell masked-only payloads
(``allow``) from raw ones, and "anonymised" batches that still hold raw values (TA-15).
"""

from __future__ import annotations

from detectors.base import Boundary, Check, Detector, Pattern
from detectors.patterns._common import COMPOUND_SURNAMES, SURNAMES

M = r"[*＊×#●]"


class _Masked(Detector):
    MASKED = True

    def normalize(self, value: str) -> str:
        return value.upper()


class CnMobileMaskedDetector(_Masked):
    """138****5678, 1381234****, 138-****-1234."""

    ENTITY = "CN_MOBILE_MASKED"
    PATTERNS = (
        Pattern("CN_MOBILE_MASKED middle", rf"1[3-9][0-9][ -]?(?:{M}|[xX]){{4}}[ -]?[0-9]{{4}}", 0.6, Boundary.DIGIT),
        Pattern("CN_MOBILE_MASKED tail", rf"1[3-9][0-9]{{6}}{M}{{2,4}}", 0.6, Boundary.DIGIT),
        Pattern("CN_MOBILE_MASKED head", rf"1[3-9][0-9][0-9]{{4}}{M}{{4}}", 0.6, Boundary.DIGIT),
    )
    CONTEXT = ("手机", "电话", "mobile", "phone", "tel")
    PRIORITY = 70


class CnResidentIdMaskedDetector(_Masked):
    """110105********002X, 1101**********002X, 4405**********0014."""

    ENTITY = "CN_RESIDENT_ID_MASKED"
    PATTERNS = (
        Pattern(
            "CN_RESIDENT_ID_MASKED", rf"[1-9][0-9]{{1,5}}(?:{M}|[xX]){{6,14}}[0-9]{{1,4}}[0-9Xx]", 0.6, Boundary.ALNUM
        ),
    )
    CONTEXT = ("身份证", "证件号", "id")
    PRIORITY = 70

    def check(self, value: str) -> Check:
        return Check.NOT_APPLICABLE if len(value) == 18 else Check.FAIL


class CnBankCardMaskedDetector(_Masked):
    """6222 **** **** 2230, 622202******2230, **** **** **** 2230."""

    ENTITY = "CN_BANK_CARD_MASKED"
    PATTERNS = (
        Pattern(
            "CN_BANK_CARD_MASKED",
            rf"(?:[0-9]{{4,6}}|{M}{{4}})[ -]?{M}{{4,9}}(?:[ -]?{M}{{4}})?[ -]?[0-9]{{4}}",
            0.6,
            Boundary.DIGIT,
        ),
    )
    CONTEXT = ("卡号", "银行卡", "card")
    PRIORITY = 70


class EmailMaskedDetector(_Masked):
    """z***@example.com."""

    ENTITY = "EMAIL_MASKED"
    PATTERNS = (
        Pattern(
            "EMAIL_MASKED",
            rf"[A-Za-z0-9._-]{{0,8}}{M}{{2,}}[A-Za-z0-9._-]{{0,8}}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{{2,24}}",
            0.6,
            Boundary.NONE,
            som_window=384,
        ),
    )
    PRIORITY = 15


class CnNameMaskedDetector(_Masked):
    """张*, 张**, 欧阳* (surname + 1-2 mask characters; longer mask runs are decoration, 某 forms are too ambiguous)."""

    ENTITY = "CN_NAME_MASKED"
    PATTERNS = (
        Pattern(
            "CN_NAME_MASKED surname+mask",
            "(?:" + "|".join(COMPOUND_SURNAMES + tuple(SURNAMES)) + rf"){M}{{1,2}}",
            0.55,
            Boundary.NO_MASK,
        ),
    )
    PRIORITY = 75


class HashedIdentifierDetector(_Masked):
    """32/40/64-hex digests in hash-named fields (phone_md5, id_sha256, mobile_hash): reversible by enumeration."""

    ENTITY = "HASHED_IDENTIFIER"
    PATTERNS = (
        Pattern(
            "HASHED_IDENTIFIER md5/sha1/sha256", r"[0-9a-fA-F]{64}|[0-9a-fA-F]{40}|[0-9a-fA-F]{32}", 0.1, Boundary.ALNUM
        ),
    )
    CONTEXT = ("md5", "sha1", "sha256", "_hash", "hash_", "摘要", "哈希")
    CONTEXT_REQUIRED = True
    PRIORITY = 80
