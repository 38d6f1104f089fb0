"""Synthetic identifiers and sentences for precision/recall tests and benchmarks (our own data)."""

from __future__ import annotations

import random

from detectors.validators import cn_ric, cn_uscc, hkid, luhn, tw_id, vin

TEMPLATES = {
    "CN_RESIDENT_ID": [
        "身份证号{v}",
        "客户{name}的证件号码：{v}，请核对",
        "sfzh={v}",
        "ID no. {v}",
        "{name}（{v}）已实名",
    ],
    "CN_BANK_CARD": ["银行卡号{v}", "收款账号：{v}", "请向卡号{v}转账", "card_no: {v}"],
    "CN_USCC": ["统一社会信用代码{v}", "营业执照号：{v}", "纳税人识别号{v}，开票"],
    "HK_ID": ["香港身份证{v}", "HKID: {v}"],
    "TW_NATIONAL_ID": ["身分證字號{v}", "Taiwan ID {v}"],
    "VEHICLE_VIN": ["车架号{v}", "VIN: {v}"],
    "CN_MOBILE": ["手机{v}", "联系电话：{v}。", "请拨打{v}联系{name}", "tel:{v}"],
}
NEGATIVE_TEMPLATES = [
    "订单号{n18}已发货",
    "交易流水{n19}",
    "时间戳{ts}",
    "快递单号{n12}",
    "商品条码{ean}",
    "ISBN {isbn}",
    "会员编号{n16}",
    "金额{amt}元",
    "房间{room}",
    "流水号{n18}，时间{ts}",
]


def resident_id(rnd: random.Random) -> str:
    prov = rnd.choice(sorted(cn_ric.MAINLAND_PROVINCES - {"71"}))
    first17 = f"{prov}{rnd.randint(0, 9999):04d}{rnd.randint(1940, 2015)}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}{rnd.randint(0, 999):03d}"
    return first17 + cn_ric.calc_check_digit(first17)


def bank_card(rnd: random.Random) -> str:
    n = rnd.choice([16, 19])
    partial = rnd.choice(["622202", "621700", "622848", "620000", "436742"]) + "".join(
        str(rnd.randint(0, 9)) for _ in range(n - 7)
    )
    return partial + luhn.calc_check_digit(partial)


def uscc(rnd: random.Random) -> str:
    a = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    first17 = (
        rnd.choice("915")
        + rnd.choice("123")
        + f"{rnd.randint(110000, 659999)}"
        + "".join(rnd.choice(a) for _ in range(8))
        + rnd.choice("0123456789")
    )
    return first17 + cn_uscc.calc_check_digit(first17)


def hk_id(rnd: random.Random) -> str:
    body = rnd.choice("ABCDEGHKMPRVYZ") + "".join(str(rnd.randint(0, 9)) for _ in range(6))
    return f"{body}({hkid.calc_check_digit(body)})"


def taiwan_id(rnd: random.Random) -> str:
    first9 = (
        rnd.choice("ABCDEFGHJKLMNPQRSTUVXYWZIO") + rnd.choice("12") + "".join(str(rnd.randint(0, 9)) for _ in range(7))
    )
    return first9 + tw_id.calc_check_digit(first9)


def vehicle_vin(rnd: random.Random) -> str:
    chars = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    # WMI (L = China) + VDS + check + model year + plant + 6-digit serial, as real VINs are laid out
    v = "L" + "".join(rnd.choice(chars) for _ in range(10)) + "".join(str(rnd.randint(0, 9)) for _ in range(6))
    v = v[:8] + vin.calc_check_digit(v[:8] + "0" + v[9:]) + v[9:]
    return v


def mobile(rnd: random.Random) -> str:
    return rnd.choice(["138", "139", "150", "186", "177", "199", "135"]) + "".join(
        str(rnd.randint(0, 9)) for _ in range(8)
    )


GENERATORS = {
    "CN_RESIDENT_ID": resident_id,
    "CN_BANK_CARD": bank_card,
    "CN_USCC": uscc,
    "HK_ID": hk_id,
    "TW_NATIONAL_ID": taiwan_id,
    "VEHICLE_VIN": vehicle_vin,
    "CN_MOBILE": mobile,
}


def corrupt(value: str, rnd: random.Random) -> str:
    """Change the check character so that the checksum fails."""
    last = value[-2] if value.endswith(")") else value[-1]
    repl = rnd.choice([c for c in "0123456789" if c != last])
    return value[:-2] + repl + ")" if value.endswith(")") else value[:-1] + repl


def negative_text(rnd: random.Random) -> str:
    digits = lambda n: str(rnd.randint(1, 9)) + "".join(str(rnd.randint(0, 9)) for _ in range(n - 1))  # noqa: E731
    return rnd.choice(NEGATIVE_TEMPLATES).format(
        n18=digits(18),
        n19=digits(19),
        n12=digits(12),
        n16=digits(16),
        ts=str(rnd.randint(1_600_000_000_000, 1_800_000_000_000)),
        ean="690" + digits(10),
        isbn="978" + digits(10),
        amt=rnd.randint(1, 99999),
        room=rnd.randint(100, 9999),
    )
