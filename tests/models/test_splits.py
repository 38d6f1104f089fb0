"""The NER model's train/dev splits (models/scripts/convert.py) do not leak: MSRA is split by blocks of whole
articles, every training part loses texts that share a 14-character run with a dev part, and People's Daily 1998
is read into the same labels."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "models" / "scripts"))

import convert


def test_block_split_holds_back_whole_contiguous_blocks_deterministically() -> None:
    items = list(range(1000))
    train, dev = convert.block_split(random.Random(13), items, 120, 50)
    assert len(dev) == 150 and sorted(train + dev) == items  # three blocks of 50, nothing lost or doubled
    blocks = {x // 50 for x in dev}
    assert len(blocks) == 3 and all(x // 50 in blocks for x in dev) and not any(x // 50 in blocks for x in train)
    assert convert.block_split(random.Random(13), items, 120, 50) == (train, dev)


def test_training_texts_sharing_fourteen_characters_with_dev_are_dropped() -> None:
    dev = [("张三在北京市海淀区中关村大街工作了二十年", [])]
    shares_14 = ("昨天看到张三在北京市海淀区中关村大街工作", [])  # 14 characters in common
    shares_13 = ("另一句：三在北京市海淀区中关村大街不同", [])  # 13 in common
    unrelated = ("完全无关的一句话", [])
    assert convert.drop_overlapping([shares_14, shares_13, unrelated], dev) == [shares_13, unrelated]


def test_peoples_daily_names_places_and_compound_organisations(tmp_path: Path) -> None:
    f = tmp_path / "pd.txt"
    f.write_text(
        "１２月/t  ３１日/t  ，/w  国家/n  主席/n  江/nr  泽民/nr  在/p  [中央/n  电视台/n]nt  讲话/n  。/w  "
        "克林顿/nr  访问/v  北京/ns  ！/w\n",
        encoding="utf-8",
    )
    got = [(text, [(text[s:e], label) for s, e, label in spans]) for text, spans in convert.read_peoples_daily(f)]
    assert got == [
        ("１２月３１日，国家主席江泽民在中央电视台讲话。", [("江泽民", "PERSON"), ("中央电视台", "ORGANIZATION")]),
        ("克林顿访问北京！", [("克林顿", "PERSON"), ("北京", "LOCATION")]),
    ]


def test_the_real_dev_parts_share_no_fourteen_character_run_with_training(shared_data: Path) -> None:
    corpora = convert.training_corpora(shared_data / "ner", random.Random(13), msra_train=49000, pd1998=False)
    devs = [dev for _, dev in corpora.values()]
    grams = convert.overlap_grams(*devs)
    for name, (train, _) in corpora.items():
        if name == "msra":  # carved against its own dev part only (below)
            continue
        assert not [t for t, _ in train if any(g in grams for g in convert._grams(t))], name
    msra_grams = convert.overlap_grams(corpora["msra"][1])
    assert not [t for t, _ in corpora["msra"][0] if any(g in msra_grams for g in convert._grams(t))]


@pytest.mark.parametrize("n", [0, 1])
def test_grams_of_short_texts_are_the_text_itself(n: int) -> None:
    assert list(convert._grams("短" * n)) == ["短" * n]
