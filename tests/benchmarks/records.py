"""~2 KB Chinese JSON transfer records with identifiers and hard negatives (Faker zh_CN, seeded)."""

from __future__ import annotations

import random

from faker import Faker

from tests.detectors import synth


def make_records(n: int, *, seed: int = 7, target_bytes: int = 2048) -> list[dict]:
    fk = Faker("zh_CN")
    fk.seed_instance(seed)
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        rec = {
            "order_no": str(rnd.randint(10**17, 10**18 - 1)),
            "created_ms": rnd.randint(1_600_000_000_000, 1_800_000_000_000),
            "customer": {
                "姓名": fk.name(),
                "手机": fk.phone_number(),
                "身份证号": fk.ssn(),
                "地址": fk.address(),
                "邮箱": fk.free_email(),
            },
            "payment": {
                "银行卡号": synth.bank_card(rnd),
                "amount": f"{rnd.randint(1, 99999)}.{rnd.randint(0, 99):02d}",
            },
            "device": {"ip": fk.ipv4_public(), "ua": fk.user_agent()},
            "items": [
                {"sku": f"SKU{rnd.randint(10**8, 10**9)}", "name": fk.word(), "qty": rnd.randint(1, 9)}
                for _ in range(rnd.randint(1, 3))
            ],
            "remark": "",
        }
        if i % 4 == 0:
            rec["company"] = {"统一社会信用代码": synth.uscc(rnd), "联系人": fk.name()}
        if i % 5 == 0:
            rec["vehicle"] = {"车牌": "粤B" + str(rnd.randint(10000, 99999)), "车架号": synth.vehicle_vin(rnd)}
        import orjson

        while len(orjson.dumps(rec)) < target_bytes:
            rec["remark"] += fk.sentence(nb_words=12) + f"快递单号{rnd.randint(10**11, 10**12)}，"
        out.append(rec)
    return out
