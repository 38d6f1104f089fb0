"""EMAIL_ADDRESS, IP_ADDRESS, MAC_ADDRESS, IMEI (identifiers.md §3.8)."""

from __future__ import annotations

import ipaddress
import re
import string

from detectors.base import Boundary, Check, Detector, Pattern
from detectors.patterns._common import DEVICE_CONTEXT
from detectors.validators import luhn

_LOCAL_CHARS = string.ascii_letters + string.digits + "._%+-"  # an e-mail's local part: the regex and start recovery
_LOCAL = re.escape(_LOCAL_CHARS)


class EmailAddressDetector(Detector):
    """E-mail with an ASCII local part (no ``\\w``: it would swallow the Chinese before it)."""

    ENTITY = "EMAIL_ADDRESS"
    PATTERNS = (
        Pattern(
            "EMAIL_ADDRESS (medium)",
            rf"[{_LOCAL}]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{{2,24}}",
            0.7,
            Boundary.NONE,
            start_anchor=("@", _LOCAL_CHARS),
        ),
    )
    CONTEXT = ("邮箱", "电子邮件", "电子邮箱", "电邮", "邮件地址", "e-mail", "email", "mail")
    PRIORITY = 20
    SUBJECT_KIND = "email"

    def normalize(self, value: str) -> str:
        return value.strip().lower()

    def check(self, value: str) -> Check:
        local, _, domain = value.partition("@")
        if local.startswith(".") or ".." in value or "*" in local:
            return Check.FAIL
        return Check.NOT_APPLICABLE


class IpAddressDetector(Detector):
    """IPv4 dotted quads and IPv6; version strings (v1.2.3.4) and dotted section numbers are rejected."""

    ENTITY = "IP_ADDRESS"
    PATTERNS = (
        Pattern("IP_ADDRESS v4 (medium)", r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}", 0.55),
        Pattern("IP_ADDRESS v6 (medium)", r"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:]{1,34}", 0.55),
    )
    CONTEXT = ("ip", "ip地址", "登录ip", "ip_addr", "client_ip", "remote_addr")
    PRIORITY = 50
    SUBJECT_KIND = "ip"

    def normalize(self, value: str) -> str:
        if "." in value and ":" not in value and _ipv4_ok(value):
            return value  # a dotted quad without leading zeros is already canonical
        return str(ipaddress.ip_address(value))

    def check(self, value: str) -> Check:
        if "." in value:  # IPv4 fast path
            if not _ipv4_ok(value) or len(value) == 7:
                return Check.FAIL  # 1.2.3.4 (all single digits): section numbers and versions, not addresses
            return Check.FAIL if value == "0.0.0.0" else Check.NOT_APPLICABLE  # unspecified
        try:
            ip = ipaddress.ip_address(value)
        except ValueError:
            return Check.FAIL
        if ip.is_unspecified or (ip.version == 6 and value.count(":") < 2):
            return Check.FAIL
        if ip.version == 4 and all(len(o) == 1 for o in value.split(".")):
            return Check.FAIL  # 1.2.3.4: section numbers and versions, not addresses
        return Check.NOT_APPLICABLE


def _ipv4_ok(value: str) -> bool:
    """Four decimal octets 0-255 without leading zeros (the pattern guarantees 1-3 ASCII digits each)."""
    octets = value.split(".")
    if len(octets) != 4:
        return False
    for o in octets:
        if (len(o) > 1 and o[0] == "0") or (len(o) == 3 and o > "255") or not o.isdigit():
            return False
    return True


class MacAddressDetector(Detector):
    """MAC addresses, six hex pairs with one consistent separator."""

    ENTITY = "MAC_ADDRESS"
    PATTERNS = (
        Pattern(
            "MAC_ADDRESS (medium)", r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){5}", 0.6
        ),
    )
    CONTEXT = ("mac", "mac地址", "mac_addr", "物理地址")
    PRIORITY = 50

    def normalize(self, value: str) -> str:
        return value.replace("-", ":").lower()

    def check(self, value: str) -> Check:
        hexes = value.replace("-", "").replace(":", "").lower()
        return Check.FAIL if hexes in ("000000000000", "ffffffffffff") else Check.NOT_APPLICABLE


class ImeiDetector(Detector):
    """IMEI: 15 digits, Luhn over all 15; needs device context (15-digit runs are everywhere)."""

    ENTITY = "IMEI"
    PATTERNS = (Pattern("IMEI 15 digits (weak)", r"[0-9]{15}", 0.1, Boundary.DIGIT),)
    CONTEXT = DEVICE_CONTEXT
    CONTEXT_REQUIRED = True
    PRIORITY = 28

    def check(self, value: str) -> Check:
        return Check.NOT_APPLICABLE if luhn.checksum(value) == 0 else Check.FAIL
