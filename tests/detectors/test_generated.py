"""Generated positives (Faker zh_CN and our own generators) and precision/recall on checksummed types."""

from __future__ import annotations

import random

import pytest

from tests.detectors import synth

N = 400


def test_generated_faker_ssn_found_with_full_score(scanner, faker_zh) -> None:
    for _ in range(200):
        ssn = faker_zh.ssn()
        fs = scanner.scan(f"身份证号{ssn}")
        assert [(f.entity_type, f.score) for f in fs] == [("CN_RESIDENT_ID", 1.0)], ssn
        bad = synth.corrupt(ssn, random.Random(ssn))
        assert not [f for f in scanner.scan(f"身份证号{bad}") if f.entity_type == "CN_RESIDENT_ID"]


def test_generated_faker_phone_numbers_found(scanner, faker_zh) -> None:
    for _ in range(200):
        phone = faker_zh.phone_number()
        fs = scanner.scan(f"{faker_zh.name()}的手机号码是{phone}。")
        assert [f.entity_type for f in fs] == ["CN_MOBILE"], phone


@pytest.mark.parametrize("entity", sorted(synth.GENERATORS))
def test_generated_precision_and_recall_at_least_099(scanner, faker_zh, entity) -> None:
    rnd = random.Random(entity)
    tp = fn = fp = 0
    for _ in range(N):
        value = synth.GENERATORS[entity](rnd)
        text = rnd.choice(synth.TEMPLATES[entity]).format(v=value, name=faker_zh.name())
        got = [text[f.start : f.end] for f in scanner.scan(text) if f.entity_type == entity]
        tp += value in got
        fn += value not in got
        fp += sum(g != value for g in got)
        # corrupted check characters and hard negatives must not be reported as this entity
        if entity != "CN_MOBILE":
            bad = synth.corrupt(value, rnd)
            text = rnd.choice(synth.TEMPLATES[entity]).format(v=bad, name=faker_zh.name())
            fp += sum(1 for f in scanner.scan(text) if f.entity_type == entity and f.score >= 0.85)
        neg = synth.negative_text(rnd)
        fp += sum(1 for f in scanner.scan(neg) if f.entity_type == entity)
    precision = tp / max(1, tp + fp)
    recall = tp / max(1, tp + fn)
    assert precision >= 0.99 and recall >= 0.99, (entity, precision, recall)
