"""Recognizer table tests: CJK sentences without spaces, full-width digits, separators, JSON values.

Each row: text, the expected (entity, matched text) pairs, and a score range for them.
"""

from __future__ import annotations

import pytest


def found(scanner, text):
    return [(f.entity_type, text[f.start : f.end], f.score) for f in scanner.scan(text)]


# fmt: off
POSITIVES = [
    # resident IDs and relatives
    ("身份证号11010519491231002X，", [("CN_RESIDENT_ID", "11010519491231002X")], (1.0, 1.0)),
    ("身份证号码：110105 19491231 002X", [("CN_RESIDENT_ID", "110105 19491231 002X")], (1.0, 1.0)),
    ("证件号440524188001010014已核验", [("CN_RESIDENT_ID", "440524188001010014")], (1.0, 1.0)),
    ("他的号码是11010519491231002x。", [("CN_RESIDENT_ID", "11010519491231002x")], (0.85, 0.85)),
    ("身份证１１０１０５１９４９１２３１００２Ｘ", [("CN_RESIDENT_ID", "１１０１０５１９４９１２３１００２Ｘ")], (1.0, 1.0)),
    ("旧身份证号110105491231002", [("CN_RESIDENT_ID_LEGACY", "110105491231002")], (0.5, 0.6)),
    ("港澳台居民居住证810000199001010019", [("CN_RESIDENCE_PERMIT_HMT", "810000199001010019")], (1.0, 1.0)),
    ("永久居留身份证911840199001010018", [("CN_FOREIGNER_PR_ID", "911840199001010018")], (1.0, 1.0)),
    ("护照号码EA1234567", [("CN_PASSPORT", "EA1234567")], (0.7, 0.8)),
    ("护照：E12345678", [("CN_PASSPORT", "E12345678")], (0.5, 0.6)),
    ("香港特区护照K12345678", [("HK_PASSPORT", "K12345678")], (0.5, 0.6)),
    ("澳门护照MA1234567", [("MO_PASSPORT", "MA1234567")], (0.5, 0.6)),
    ("回乡证H12345678", [("CN_HOME_RETURN_PERMIT", "H12345678")], (0.5, 0.6)),
    ("台胞证号码12345678，", [("CN_TAIWAN_COMPATRIOT_PERMIT", "12345678")], (0.5, 0.6)),
    ("往来港澳通行证C12345678", [("CN_HK_MACAO_TRAVEL_PERMIT", "C12345678")], (0.5, 0.6)),
    ("香港身份证A123456(3)", [("HK_ID", "A123456(3)")], (1.0, 1.0)),
    ("香港身份證A123456（3）", [("HK_ID", "A123456（3）")], (1.0, 1.0)),
    ("澳门居民身份证1234567(8)", [("MO_ID", "1234567(8)")], (0.5, 0.6)),
    ("身分證字號A123456789", [("TW_NATIONAL_ID", "A123456789")], (1.0, 1.0)),
    # contact
    ("手机13812345678", [("CN_MOBILE", "13812345678")], (0.95, 0.95)),
    ("My CN number is 13812345678", [("CN_MOBILE", "13812345678")], (0.6, 0.6)),
    ("联系电话：+86 138 1234 5678。", [("CN_MOBILE", "+86 138 1234 5678")], (0.95, 0.95)),
    ("电话0086-13812345678", [("CN_MOBILE", "0086-13812345678")], (0.95, 0.95)),
    ("手机１３８１２３４５６７８", [("CN_MOBILE", "１３８１２３４５６７８")], (0.95, 0.95)),
    ("座机010-62345678转123", [("CN_LANDLINE", "010-62345678")], (0.85, 0.85)),
    ("(0755)23456789", [("CN_LANDLINE", "(0755)23456789")], (0.5, 0.5)),
    ("邮箱zhangsan@example.com", [("EMAIL_ADDRESS", "zhangsan@example.com")], (1.0, 1.0)),
    ("联系我12345678@qq.com", [("EMAIL_ADDRESS", "12345678@qq.com")], (0.7, 0.7)),
    # financial
    ("银行卡号6212345678900000003", [("CN_BANK_CARD", "6212345678900000003")], (1.0, 1.0)),
    ("支付卡6200000000000005", [("CN_BANK_CARD", "6200000000000005")], (0.6, 0.6)),
    ("储蓄卡6217001234567890123", [("CN_BANK_CARD", "6217001234567890123")], (0.5, 0.5)),
    ("统一社会信用代码91110000600037341L", [("CN_USCC", "91110000600037341L")], (1.0, 1.0)),
    # vehicles, online, devices, location, dates
    ("车牌号京A12345", [("CN_LICENSE_PLATE", "京A12345")], (0.9, 0.9)),
    ("粤BD12345违章", [("CN_LICENSE_PLATE", "粤BD12345")], (0.6, 0.6)),
    ("车架号1M8GDM9AXKP042788", [("VEHICLE_VIN", "1M8GDM9AXKP042788")], (1.0, 1.0)),
    ("QQ号：123456789", [("CN_QQ", "123456789")], (0.5, 0.5)),
    ("加微信: zhangsan_88", [("CN_WECHAT_ID", "zhangsan_88")], (0.5, 0.5)),
    ("支付宝ID 2088123456789012", [("CN_ALIPAY_UID", "2088123456789012")], (0.65, 0.65)),
    ("登录IP 61.135.169.125", [("IP_ADDRESS", "61.135.169.125")], (0.9, 0.9)),
    ("ip: 2001:db8::1", [("IP_ADDRESS", "2001:db8::1")], (0.9, 0.9)),
    ("MAC地址00:1A:2B:3C:4D:5E", [("MAC_ADDRESS", "00:1A:2B:3C:4D:5E")], (0.95, 0.95)),
    ("设备IMEI 490154203237518", [("IMEI", "490154203237518")], (0.55, 0.55)),
    ("定位 39.904211,116.407395", [("GEO_COORDINATE", "39.904211,116.407395")], (0.95, 0.95)),
    ("出生日期：1990年3月7日", [("DATE_OF_BIRTH", "1990年3月7日")], (0.55, 0.55)),
    ("DOB 19900307", [("DATE_OF_BIRTH", "19900307")], (0.5, 0.5)),
    # masked forms are reported as *_MASKED with masked=true, never as the raw entity
    ("手机138****5678", [("CN_MOBILE_MASKED", "138****5678")], (0.95, 0.95)),
    ("身份证110105********002X", [("CN_RESIDENT_ID_MASKED", "110105********002X")], (0.95, 0.95)),
    ("卡号6222 **** **** 2230", [("CN_BANK_CARD_MASKED", "6222 **** **** 2230")], (0.95, 0.95)),
    ("邮箱z***@example.com", [("EMAIL_MASKED", "z***@example.com")], (0.6, 0.6)),
    ("收件人张*", [("CN_NAME_MASKED", "张*")], (0.55, 0.55)),
    ("phone_md5: e10adc3949ba59abbe56e057f20f883e", [("HASHED_IDENTIFIER", "e10adc3949ba59abbe56e057f20f883e")], (0.55, 0.55)),
]

NEGATIVES = [
    "110105194912310021",            # wrong check digit
    "身份证110105194902300020",       # 30 Feb
    "身份证200105194912310021",       # province 20
    "身份证号1101051949123100210",    # ID inside a 19-digit run
    "编号911010519491231002X7",       # embedded in a longer run
    "订单号1732780800000",            # 13-digit ms timestamp
    "时间戳1732780800",               # 10-digit epoch is not a QQ without context
    "12345678901",                    # mobile prefix 12
    "编号6222000000000001",           # Luhn fails and no card context
    "客服10086，热线95588",            # service numbers
    "ISBN 9787111213826",             # ISBN-13
    "条码6901234567892",              # EAN-13 barcode
    "快递单号SF1234567890123",         # tracking number
    "订单号202311281234567890",        # 18-digit order number with a date inside
    "版本v1.2.3.4已发布",              # version string, not an IP
    "第1.2.3.4节",                     # dotted section numbers (prefixed)
    "价格¥150，10000000000000个赞",    # amounts
    "房间号8888，888888888888888888888888",  # repeated digits
    "20231201",                       # a date without birth context
    "联系400-800-1234",               # 400 numbers are organisational
    "京ABCDE",                        # plate-like word without digits
    "2023-11-28 10:00:00",            # timestamp is not a birth date
    "110101199003077578",             # widely copied invalid example ID
]
# fmt: on


@pytest.mark.parametrize("text,expected,scores", POSITIVES)
def test_patterns_find_expected_values(scanner, text, expected, scores) -> None:
    got = found(scanner, text)
    assert [(e, v) for e, v, _ in got] == expected
    for _, _, score in got:
        assert scores[0] - 1e-9 <= score <= scores[1] + 1e-9


@pytest.mark.parametrize("text", NEGATIVES)
def test_patterns_ignore_hard_negatives(scanner, text) -> None:
    assert found(scanner, text) == []


def test_patterns_offsets_point_into_original_text_with_fullwidth(scanner) -> None:
    text = "客户：王五，手机１３８１２３４５６７８，身份证号１１０１０５１９４９１２３１００２Ｘ。"
    fs = scanner.scan(text)
    assert [(f.entity_type, text[f.start : f.end]) for f in fs] == [
        ("CN_MOBILE", "１３８１２３４５６７８"),
        ("CN_RESIDENT_ID", "１１０１０５１９４９１２３１００２Ｘ"),
    ]


def test_patterns_resident_id_beats_card_reading_of_same_digits(scanner) -> None:
    # 440524188001010014 is also Luhn-valid: the resident ID reading must win
    assert [f.entity_type for f in scanner.scan("号码440524188001010014")] == ["CN_RESIDENT_ID"]


def test_patterns_masked_findings_are_flagged(scanner) -> None:
    fs = scanner.scan("138****5678")
    assert fs and all(f.masked for f in fs)


def test_patterns_minor_resident_id_is_spi_minor(scanner) -> None:
    import datetime as dt

    from detectors.validators.cn_ric import calc_check_digit

    year = dt.date.today().year - 8
    first17 = f"110105{year}0101001"
    f = scanner.scan("身份证" + first17 + calc_check_digit(first17))[0]
    assert f.attributes["age_under_14"] is True and f.category == "identity_document" and f.sensitivity == "spi"
