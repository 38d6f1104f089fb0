"""Online identifiers with mandatory context (identifiers.md §3.8): CN_QQ, CN_WECHAT_ID, CN_ALIPAY_UID."""

from __future__ import annotations

from detectors.base import Boundary, Detector, Pattern


class CnQqDetector(Detector):
    """QQ numbers: 5-11 digits, no leading 0; only next to a QQ context word."""

    ENTITY = "CN_QQ"
    PATTERNS = (Pattern("CN_QQ 5-11 digits (weak)", r"[1-9][0-9]{4,10}", 0.05, Boundary.DIGIT),)
    CONTEXT = ("qq", "qq号", "qq号码", "扣扣", "q号")
    CONTEXT_REQUIRED = True
    PRIORITY = 60
    SUBJECT_KIND = "qq"


class CnWechatIdDetector(Detector):
    """WeChat IDs: 6-20 of letters, digits, _ and -, starting with a letter; only next to a WeChat word."""

    ENTITY = "CN_WECHAT_ID"
    PATTERNS = (Pattern("CN_WECHAT_ID 6-20 chars (weak)", r"[A-Za-z][-_A-Za-z0-9]{5,19}", 0.05, Boundary.ALNUM),)
    CONTEXT = ("微信", "微信号", "微信id", "加微", "wx", "vx", "v信", "weixin", "wechat", "wxid")
    CONTEXT_REQUIRED = True
    PRIORITY = 62
    SUBJECT_KIND = "wechat"

    def normalize(self, value: str) -> str:
        return value.lower()


class CnAlipayUidDetector(Detector):
    """Alipay user ids: 2088 + 12 digits."""

    ENTITY = "CN_ALIPAY_UID"
    PATTERNS = (Pattern("CN_ALIPAY_UID 2088+12 (weak)", r"2088[0-9]{12}", 0.3, Boundary.DIGIT),)
    CONTEXT = ("支付宝", "支付宝账号", "支付宝id", "alipay", "alipay_user_id", "2088id")
    PRIORITY = 30
    SUBJECT_KIND = "alipay"
