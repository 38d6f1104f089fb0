"""Names and addresses: field rules on every record, gated NER on flagged windows, merge with pattern findings."""

from __future__ import annotations

import pytest

from detectors import Scanner
from detectors.ner import NerStage, _windows, load_ner
from tests.conftest import TEST_KEY


@pytest.fixture(scope="module")
def rules_only() -> Scanner:
    return Scanner(hmac_key=TEST_KEY, ner=NerStage(None))


@pytest.fixture(scope="module")
def with_model() -> Scanner:
    return Scanner(hmac_key=TEST_KEY, ner=load_ner())


# fmt: off
@pytest.mark.parametrize("payload,expected", [
    ({"姓名": "王小明"}, [("PERSON", "姓名")]),
    ({"收货人": "买买提·艾力"}, [("PERSON", "收货人")]),
    ({"name": "Zhang Wei"}, [("PERSON", "name")]),
    ({"地址": "浙江省杭州市西湖区文三路90号"}, [("ADDRESS", "地址")]),
    ({"address": "北京市朝阳区建国路88号SOHO现代城"}, [("ADDRESS", "address")]),
    ({"姓名": "13812345678"}, [("CN_MOBILE", "姓名")]),          # digits under a name field are not a name
    ({"备注": "请尽快发货"}, []),                                 # free text without cues never reaches NER
    ({"城市": "杭州"}, []),
])
# fmt: on
def test_ner_field_rules_without_a_model(rules_only, payload, expected) -> None:
    assert [(f.entity_type, f.field) for f in rules_only.scan(payload)] == expected


def test_ner_findings_follow_the_finding_contract(rules_only) -> None:
    f = rules_only.scan({"姓名": "王小明"})[0]
    assert (f.start, f.end, f.preview, f.category, f.sensitivity) == (0, 3, "王**", "basic_profile", "pi")
    assert len(f.hmac) == 32 and "王小明" not in str(f.to_dict())


def test_ner_gate_windows_around_cues_and_name_or_address_characters_never_over_pattern_findings() -> None:
    from detectors.ner import WINDOW

    text = "今天天气不错，我们都很开心。" * 5 + "收货人王小明，明天送到。"
    wins = _windows(text, [])
    assert len(wins) == 1 and "收货人王小明" in text[wins[0][0] : wins[0][1]]
    assert wins[0][1] - wins[0][0] <= 2 * WINDOW + 6
    assert _windows("今天天气不错，我们都很开心。", []) == []  # no cue, no name or address character
    assert _windows("这家酒店服务很好", []) == [(0, 8)]  # 店 (…店村, …饭店): an address character, ±GATE_WINDOW
    assert _windows("昨天和Grubby聊了很久很久", []) == [(0, 15)]  # a Latin-script word in Chinese text: a handle
    assert _windows("今天看了WiFi说明", [], learned=False) == []  # the cue gate alone does not open on it
    assert all(not (s >= 3 and e <= 14) for s, e in _windows("联系人13812345678", [(3, 14)]))
    long = "，".join(["张三李四王五"] * 100)  # one long run of gate characters is cut, never dropped
    assert sum(e - s for s, e in _windows(long, [])) == len(long)


def test_ner_model_finds_name_and_address_in_free_text(with_model) -> None:
    text = "收货人王小明，电话13812345678，地址浙江省杭州市西湖区文三路90号东部软件园3号楼502室，明天送到。"
    got = {(f.entity_type, text[f.start:f.end]) for f in with_model.scan(text)}
    assert ("CN_MOBILE", "13812345678") in got
    assert any(e == "PERSON" and "王小明" in v for e, v in got)
    assert any(e in ("ADDRESS", "LOCATION") and v.startswith("浙江省杭州市") for e, v in got)


def test_ner_no_double_counting_inside_an_address(with_model) -> None:
    text = "地址：上海市浦东新区世纪大道100号张江大厦，联系人李雷"
    found = with_model.scan(text)
    addresses = [(f.start, f.end) for f in found if f.entity_type == "ADDRESS"]
    for f in found:
        if f.entity_type in ("LOCATION", "PERSON"):
            assert not any(s <= f.start and f.end <= e for s, e in addresses)


def test_ner_can_be_switched_off(with_model) -> None:
    text = "客户张伟先生住在上海市浦东新区世纪大道100号"
    assert any(f.entity_type == "PERSON" for f in with_model.scan(text))
    assert not any(f.entity_type == "PERSON" for f in with_model.scan(text, ner=False))


def test_ner_cli_no_ner_flag(tmp_path) -> None:
    import subprocess
    import sys

    f = tmp_path / "in.jsonl"
    f.write_text('{"id": 1, "text": "客户张伟先生住在上海市浦东新区世纪大道100号"}\n', encoding="utf-8")
    on = subprocess.run([sys.executable, "-m", "stream", "scan", str(f)], capture_output=True, text=True)
    off = subprocess.run([sys.executable, "-m", "stream", "scan", "--no-ner", str(f)], capture_output=True, text=True)
    assert '"PERSON"' in on.stdout and '"PERSON"' not in off.stdout and off.returncode == 0


def _post(text: str, ents: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Run the address post-processing component on ``text`` with the given (surface, label) entities."""
    import spacy

    from detectors.ner_components import address_extend

    doc = spacy.blank("zh").make_doc(text)
    spans = []
    for surface, label in ents:
        start = text.index(surface)
        spans.append(doc.char_span(start, start + len(surface), label=label))
    doc.ents = spans
    return [(e.text, e.label_) for e in address_extend(doc).ents]


# fmt: off
@pytest.mark.parametrize("text,ents,expected", [
    # a toponym chain that touches an address unit becomes one address
    ("宁夏中卫市沙坡头区福润苑B区154栋10单元1132号", [("宁夏", "LOCATION"), ("中卫市沙坡头区福润苑B区", "LOCATION"),
                                                   ("154栋10单元1132号", "ADDRESS")],
     [("宁夏中卫市沙坡头区福润苑B区154栋10单元1132号", "ADDRESS")]),
    # a pure toponym chain stays as it is
    ("他去了中国北京开会", [("中国", "LOCATION"), ("北京", "LOCATION")], [("中国", "LOCATION"), ("北京", "LOCATION")]),
    # a unit-first address takes in the estate name before it, within the clause
    ("收件：堰头工业区临江小区12幢11号", [("12幢11号", "ADDRESS")], [("堰头工业区临江小区12幢11号", "ADDRESS")]),
    # an estate plus unit the model called an organisation is an address
    ("寄到百隆巷9号盛世国际1637室", [("百隆巷9号盛世国际1637室", "ORGANIZATION")], [("百隆巷9号盛世国际1637室", "ADDRESS")]),
    # a street and number the model missed, not swallowing the verb before it or the next clause
    ("我住在讲舍街132栋5单元462室，电话联系", [], [("讲舍街132栋5单元462室", "ADDRESS")]),
    # a person after the address, across a clause break, stays a person
    ("杭州市文三路90号，王小明收", [("杭州市文三路90号", "ADDRESS"), ("王小明", "PERSON")],
     [("杭州市文三路90号", "ADDRESS"), ("王小明", "PERSON")]),
    # an organisation without a unit tail stays an organisation
    ("阿里巴巴集团控股有限公司发布公告", [("阿里巴巴集团控股有限公司", "ORGANIZATION")],
     [("阿里巴巴集团控股有限公司", "ORGANIZATION")]),
])
# fmt: on
def test_ner_address_postprocessing_makes_one_span_per_address(text, ents, expected) -> None:
    assert _post(text, ents) == expected


def test_scan_batch_with_ner_equals_scan_of_each_record(with_model) -> None:
    """Batching windows across records (one model pass per chunk) changes nothing but speed."""
    import json
    from pathlib import Path

    rows = (Path(__file__).resolve().parents[1] / "data" / "ner_dev_slice.jsonl").read_text(encoding="utf-8")
    texts = [json.loads(r)["text"] for r in rows.splitlines()[:120]]
    items: list = []
    for i, t in enumerate(texts):
        items.append(t if i % 3 else {"备注": f"联系人{t}", "手机": "13812345678", "list": [t[:20], {}]})
    items += [{}, [], "", "收货人张三，地址北京市朝阳区建国路88号"]
    want = [with_model.scan(x) for x in items]
    got = list(with_model.scan_batch(items, chunk=16))
    assert got == want
    assert sum(f.detector == "SpacyNer" for fs in got for f in fs) >= 20
    assert list(with_model.scan_batch(items, chunk=16, entities={"PERSON"}, min_score=0.7)) == [
        with_model.scan(x, entities={"PERSON"}, min_score=0.7) for x in items]


# -- modes: which text reaches the model (issue 14) ---------------------------------------------------------------
def _slice() -> list[dict]:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "ner_dev_slice.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _model_entities(stage: NerStage, texts: list[str]) -> list[set[tuple[str, int, int]]]:
    from detectors.ner import LABELS
    from detectors.ner_fast import pipe

    return [
        {(LABELS[e.label_], e.start_char, e.end_char) for e in doc.ents if e.label_ in LABELS and len(e.text.strip()) > 1}
        for doc in pipe(stage.nlp, texts, batch_size=256)
    ]


def _covered(want: tuple[str, int, int], found: list) -> bool:
    """The model's entity is in the scan's findings (the benchmark's definition: same span, or inside an address
    or a pattern finding, which win by design)."""
    from tests.benchmarks.bench_ner_gate import covered

    return covered(want, found)


def test_ner_full_mode_finds_what_the_model_finds_on_whole_texts() -> None:
    stage = load_ner()
    rows = _slice()
    texts = [r["text"] for r in rows]
    want = _model_entities(stage, texts)
    for mode, at_least in (("full", 0.97), ("gated", 0.0)):
        scanner = Scanner(hmac_key=TEST_KEY, ner=stage, ner_mode=mode)
        got = list(scanner.scan_batch(texts))
        kept = sum(_covered(w, found) for ws, found in zip(want, got) for w in ws)
        total = sum(map(len, want))
        assert total > 400 and kept / total >= at_least, (mode, kept, total)
        if mode == "gated":  # names and addresses through the learned gate: pinned so that it can only go up
            pa = [w for ws in want for w in ws if w[0] in ("PERSON", "ADDRESS")]
            ok = sum(_covered(w, found) for ws, found in zip(want, got) for w in ws if w[0] in ("PERSON", "ADDRESS"))
            assert len(pa) > 200 and ok / len(pa) >= 0.97, (ok, len(pa))


def test_ner_names_in_free_text_without_cues_reach_the_model_in_both_modes() -> None:
    text = "在邓小平理论指引下，李明和王芳去了杭州。"  # no cue word: the old gate sent nothing
    for mode in ("gated", "full"):
        found = Scanner(hmac_key=TEST_KEY, ner=load_ner(), ner_mode=mode).scan(text)
        assert {text[f.start : f.end] for f in found if f.entity_type == "PERSON"} >= {"邓小平"}, mode


def test_ner_off_mode_and_long_texts_are_cut_at_sentence_ends() -> None:
    from detectors.ner import FULL_CHUNK, _chunks

    assert Scanner(hmac_key=TEST_KEY, ner=load_ner(), ner_mode="off").scan("客户张伟先生") == []
    text = ("今天天气很好。" * 30 + "abc" * 50 + "我们去公园，") * 3
    pieces = _chunks(text)
    assert all(e - s <= FULL_CHUNK for s, e in pieces) and pieces[0][0] == 0
    assert all(text[e - 1] in "。，c" for s, e in pieces[:-1])
    covered = "".join(text[s:e] for s, e in pieces)
    assert covered.count("今天天气很好") == 90  # nothing with Chinese text is skipped
    with pytest.raises(ValueError):
        Scanner(hmac_key=TEST_KEY, ner_mode="fast")


def test_ner_cli_modes_and_characters_read(tmp_path) -> None:
    import subprocess
    import sys

    f = tmp_path / "t.txt"
    f.write_text("在邓小平理论指引下，我们继续前进。\n", encoding="utf-8")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "stream", "scan", "--format", "table", *args, str(f)], capture_output=True, text=True
        )

    full, gated, off = run(), run("--ner", "gated"), run("--no-ner")
    assert "PERSON" in full.stdout and "NER (full): 17 characters read by the model" in full.stdout
    assert "PERSON" in gated.stdout and "NER (gated): 14 characters" in gated.stdout  # the gate skips 。我们继续前进
    assert "PERSON" not in off.stdout and "NER" not in off.stdout and off.returncode == 0


def test_ner_mode_setting_and_metrics(monkeypatch) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from stream.metrics import NerCollector
    from stream.settings import Settings, SettingsError

    for value, mode in (("full", "full"), ("GATED", "gated"), ("off", "off"), ("1", "gated"), ("0", "off")):
        monkeypatch.setenv("PIPLWATCH_NER", value)
        assert Settings().ner == mode
    monkeypatch.setenv("PIPLWATCH_NER", "fast")
    with pytest.raises(SettingsError, match="PIPLWATCH_NER must be one of gated, full, off"):
        Settings()
    stage = NerStage(load_ner().nlp)  # its own counters
    Scanner(hmac_key=TEST_KEY, ner=stage, ner_mode="full").scan("在邓小平理论指引下，我们继续前进。")
    registry = CollectorRegistry()
    registry.register(NerCollector(stage, "full"))
    text = generate_latest(registry).decode()
    assert 'piplwatch_ner_characters_total{mode="full"} 17.0' in text
    assert 'piplwatch_ner_windows_total{mode="full"} 1.0' in text


def test_ner_gate_skips_structured_values_that_are_not_free_text_about_people() -> None:
    """Company names are full of place characters, a masked name under 姓名 is not a name to look for: neither
    reaches the model in gated mode (structured traffic would pay the model's cost per call for nothing); free text
    beside them does."""
    stage = NerStage(load_ner().nlp)
    scanner = Scanner(hmac_key=TEST_KEY, ner=stage, ner_mode="gated")
    payload = {"公司": "华成育卓传媒有限公司", "职位": "场长(农/林/牧/渔业)", "姓名": "赖*", "名称": "网站"}
    scanner.scan(payload)
    assert stage.stats.chars_to_ner == 0
    scanner.scan({**payload, "备注": "今天和邓小平同志的孙子见了面"})
    assert 0 < stage.stats.chars_to_ner <= len("今天和邓小平同志的孙子见了面")
