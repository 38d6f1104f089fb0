"""Precision holes found on held-out data (issue 13): labels of other kinds of number, passports read as HKIDs,
phone cues. Table-driven: values and sentences, both ways."""

from __future__ import annotations

import pytest

CARD = "6212345678900000003"  # Luhn-valid UnionPay
RID = "621002196102254041"  # a valid resident ID
LIKE = "621002196102254049"  # the held-out order number: an 18-digit 62... run that passes Luhn (a card reading)
MOBILE = "19513967161"


def _types(scanner, data) -> list[str]:
    return [f.entity_type for f in scanner.scan(data)]


# fmt: off
@pytest.mark.parametrize("text", [
    f"订单号：{LIKE} 卡号", f"订单号:{CARD}", f"订单号 {MOBILE}", f"订单号：{MOBILE}", f"订单号　{MOBILE}",
    f"流水号{CARD}", f"交易编号: {RID}", f"交易单号={CARD}", f"快递单号：{MOBILE}", f"运单号 {MOBILE}",
    f"商品条码：{CARD}", f"条码 {MOBILE}", f"ISBN {MOBILE}", f"合同编号：{RID}", f"发票号码：{CARD}",
    f"卡号在后 订单号：{CARD}",  # the nearest label wins over a farther card word
])
def test_precision_a_label_of_another_kind_of_number_vetoes_every_reading_of_the_value(scanner, text) -> None:
    assert _types(scanner, text) == []


@pytest.mark.parametrize("field", ["订单号", "order_no", "order_id", "tracking_no", "快递单号", "invoice_no", "barcode"])
@pytest.mark.parametrize("value", [CARD, RID, MOBILE])
def test_precision_field_names_of_other_kinds_of_number_veto_too(scanner, field, value) -> None:
    assert _types(scanner, {field: value}) == []
    assert _types(scanner, [{field: value, "手机": "13912345678"}]) == ["CN_MOBILE"]


@pytest.mark.parametrize("text,want", [
    (f"卡号：{CARD}", ["CN_BANK_CARD"]),
    (f"订单号：20261201001，卡号：{CARD}", ["CN_BANK_CARD"]),  # only the value right after the label is vetoed
    (f"快递单号: 1234567890，手机：{MOBILE}", ["CN_MOBILE"]),
    (f"身份证号 {RID}", ["CN_RESIDENT_ID"]),
    (f"订单号 手机 {MOBILE}", ["CN_MOBILE"]),  # a word between: not "directly before"
])
def test_precision_positive_labels_still_find_their_values(scanner, text, want) -> None:
    assert _types(scanner, text) == want


@pytest.mark.parametrize("data,want", [
    ("护照号码：EQ0339861", ["CN_PASSPORT"]),
    ({"passport": "EY7854895"}, ["CN_PASSPORT"]),
    ("EQ0339861", []),  # a bare two-letter HKID shape passes mod 11 one time in eleven: not without HK context
    ("香港身份证 EQ0339861", ["HK_ID"]),
    ("身份證號碼：A123456(3)", ["HK_ID"]),
    ("A123456(3)", ["HK_ID"]),  # the bracketed check digit is the HKID's own form
])
def test_precision_passports_are_not_read_as_hong_kong_ids(scanner, data, want) -> None:
    assert _types(scanner, data) == want


@pytest.mark.parametrize("text,entity", [
    ("请拨打13912345678咨询", "CN_MOBILE"),
    ("请拨打010-62345678咨询", "CN_LANDLINE"),
    ("如有疑问请致电 021-62345678", "CN_LANDLINE"),
])
def test_precision_call_us_is_a_phone_cue(scanner, text, entity) -> None:
    found = scanner.scan(text)
    assert [f.entity_type for f in found] == [entity] and found[0].context
# fmt: on
