"""`piplwatch scan` as a security tool (issue 15): directories with ignore files and globs, binary and gzip files,
every format checked by parsing it back (SARIF against the 2.1.0 schema), a table that lines up with Chinese text,
`--fail-on`, `piplwatch redact` round trips, and the CLI's help and error lines."""

from __future__ import annotations

import csv
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "data" / "sarif-schema-2.1.0.json"
RID = "11010519491231002X"


def cli(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stream", *args], input=stdin, capture_output=True, timeout=60, cwd=cwd or ROOT
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A project directory: data files of every kind, ignored ones, a binary, a gzip file."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "users.csv").write_text(
        f"id,姓名,手机,身份证号\n1,王小明,13812345678,{RID}\n", encoding="utf-8"
    )
    (tmp_path / "data" / "events.jsonl").write_text(
        '{"id": "e1", "text": "客服：请拨打13900002222"}\n', encoding="utf-8"
    )
    (tmp_path / "data" / "export.json").write_text(
        json.dumps([{"uid": 1}, {"手机": "13700003333"}], ensure_ascii=False, indent=2), encoding="utf-8"
    )
    (tmp_path / "notes.txt").write_text("第一行没有\n联系人电话 13600004444，谢谢\n", encoding="utf-8")
    (tmp_path / "big.tsv.gz").write_bytes(gzip.compress(b"id\tmobile\n9\t13500005555\n"))
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00binary")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "cache.txt").write_text("手机 13400006666\n", encoding="utf-8")
    (tmp_path / "secret.log").write_text("手机 13300007777\n", encoding="utf-8")
    (tmp_path / ".gitignore").write_text("build/\n*.log\n", encoding="utf-8")
    return tmp_path


def _jsonl(r: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(x) for x in r.stdout.decode().splitlines()]


def test_scan_walks_directories_honouring_ignore_files_and_skipping_binaries(tree: Path) -> None:
    r = cli("scan", "--no-ner", "--format", "jsonl", ".", cwd=tree)
    assert r.returncode == 1, r.stderr
    recs = _jsonl(r)
    files = {x["file"] for x in recs}
    assert files == {"data/users.csv", "data/events.jsonl", "data/export.json", "notes.txt", "big.tsv.gz"}
    assert "1 binary file(s) skipped" in r.stderr.decode()
    where = {(x["file"], x["line"]) for x in recs if x["findings"]}
    assert ("notes.txt", 2) in where and ("data/export.json", 5) in where and ("big.tsv.gz", 2) in where
    text = next(x for x in recs if x["file"] == "notes.txt" and x["findings"])["findings"][0]
    assert text["column"] == 7 and text["preview"].startswith("13")  # 1-based, as SARIF and editors count
    out = r.stdout.decode()
    for raw in ("13812345678", RID, "13400006666", "13300007777"):
        assert raw not in out


def test_scan_include_and_exclude_globs(tree: Path) -> None:
    r = cli("scan", "--no-ner", "--format", "jsonl", "--include", "*.csv", "--include", "*.txt", ".", cwd=tree)
    assert {x["file"] for x in _jsonl(r)} == {"data/users.csv", "notes.txt"}
    r = cli("scan", "--no-ner", "--format", "jsonl", "--exclude", "data/*", ".", cwd=tree)
    assert {x["file"] for x in _jsonl(r)} == {"notes.txt", "big.tsv.gz"}


def test_scan_sarif_validates_against_the_2_1_0_schema_and_holds_no_raw_value(tree: Path) -> None:
    import jsonschema

    r = cli("scan", "--no-ner", "--format", "sarif", ".", cwd=tree)
    log = json.loads(r.stdout)
    jsonschema.validate(log, json.loads(SCHEMA.read_text()))
    run = log["runs"][0]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert {"CN_MOBILE", "CN_RESIDENT_ID", "PERSON"} <= set(rules) and rules["CN_MOBILE"]["help"]["text"]
    res = {
        (
            x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            x["locations"][0]["physicalLocation"]["region"]["startLine"],
            x["ruleId"],
        )
        for x in run["results"]
    }
    assert ("data/users.csv", 2, "CN_RESIDENT_ID") in res and ("notes.txt", 2, "CN_MOBILE") in res
    notes = next(
        x for x in run["results"] if x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "notes.txt"
    )
    assert notes["locations"][0]["physicalLocation"]["region"]["startColumn"] == 7
    assert all(x["level"] in ("error", "warning", "note") for x in run["results"])
    for raw in ("13812345678", RID, "13600004444"):
        assert raw not in r.stdout.decode()


def test_scan_csv_parses_back_one_row_per_finding(tree: Path) -> None:
    r = cli("scan", "--no-ner", "--format", "csv", "data/users.csv", cwd=tree)
    rows = list(csv.DictReader(io.StringIO(r.stdout.decode())))
    assert {(x["field"], x["entity_type"], x["severity"]) for x in rows} == {
        ("手机", "CN_MOBILE", "medium"),
        ("身份证号", "CN_RESIDENT_ID", "high"),
    }
    assert all(x["file"] == "data/users.csv" and x["line"] == "2" for x in rows) and RID not in r.stdout.decode()


def test_scan_table_lines_up_with_chinese_field_names_and_ends_with_a_summary(tree: Path) -> None:
    from detectors.report import width

    r = cli("scan", "--no-ner", "--format", "table", "data/users.csv", "notes.txt", cwd=tree)
    lines = r.stdout.decode().splitlines()
    header, rows = lines[0], [x for x in lines[1:] if x.startswith(("data/", "notes"))]
    assert header.split() == ["LOCATION", "FIELD", "ENTITY", "SCORE", "PREVIEW"] and len(rows) == 3
    col = width(header[: header.index("ENTITY")])
    for row in rows:  # the entity column starts at the same terminal column in every row, CJK fields or not
        ent = row.index("CN_")
        assert width(row[:ent]) == col, row
    assert "\x1b[" not in r.stdout.decode()  # no colour when not a terminal
    assert "3 findings in" in r.stdout.decode() and any(x.split() == ["CN_MOBILE", "2"] for x in lines)


@pytest.mark.parametrize(
    "fail_on,code", [(None, 1), ("high", 1), ("medium", 1), ("CN_BANK_CARD", 0), ("CN_RESIDENT_ID", 1)]
)
def test_scan_fail_on_severity_or_entity(tree: Path, fail_on, code) -> None:
    args = ["scan", "--no-ner", "--format", "jsonl", "data/users.csv"] + (["--fail-on", fail_on] if fail_on else [])
    assert cli(*args, cwd=tree).returncode == code
    only_mobile = cli("scan", "--no-ner", "--fail-on", "high", "notes.txt", cwd=tree)
    assert only_mobile.returncode == 0 and b"CN_MOBILE" in only_mobile.stdout  # reported, but below the bar


@pytest.mark.parametrize("name", ["data/users.csv", "data/events.jsonl", "data/export.json", "notes.txt"])
def test_redact_round_trip_scans_clean_and_keeps_structure(tree: Path, name: str) -> None:
    out = tree / ("redacted-" + Path(name).name)
    r = cli("redact", "--no-ner", name, "-o", str(out), "--operator", "CN_MOBILE=hash", "--default", "mask", cwd=tree)
    assert r.returncode == 0 and "redacted" in r.stderr.decode(), r.stderr
    again = cli("scan", "--no-ner", "--format", "jsonl", str(out))
    left = {f["entity_type"] for x in _jsonl(again) for f in x["findings"]}
    assert left <= {"CN_RESIDENT_ID_MASKED"}, left  # clean of every redacted type; a masked ID is still one
    original = (tree / name).read_text(encoding="utf-8")
    red = out.read_text(encoding="utf-8")
    if name.endswith(".csv"):
        a, b = list(csv.reader(io.StringIO(original))), list(csv.reader(io.StringIO(red)))
        assert [len(x) for x in a] == [len(x) for x in b] and a[0] == b[0] and b[1][1] == "王小明"
        assert b[1][2].startswith("<CN_MOBILE:") and b[1][3] == "110*************2X"
    elif name.endswith(".json"):
        a, b = json.loads(original), json.loads(red)
        assert [sorted(x) for x in a] == [sorted(x) for x in b]
    elif name.endswith(".jsonl"):
        assert [sorted(json.loads(x)) for x in original.splitlines()] == [
            sorted(json.loads(x)) for x in red.splitlines()
        ]
    else:
        assert len(original.splitlines()) == len(red.splitlines())


@pytest.mark.parametrize(
    "op,expect",
    [
        ("replace", "<CN_MOBILE>"),
        ("drop", "联系人电话 ，谢谢"),
        ("mask-all", "联系人电话 ***********，"),
        ("mask", "13********4"),
    ],
)
def test_redact_operators(tree: Path, op, expect) -> None:
    r = cli("redact", "--no-ner", "notes.txt", "--default", op, cwd=tree)
    assert expect in r.stdout.decode() and "13600004444" not in r.stdout.decode()
    if op == "mask":  # a resident ID keeps region and check digit: still a (masked) identifier to the scanner
        red = cli("redact", "--no-ner", "data/users.csv", "--default", op, cwd=tree)
        again = cli("scan", "--no-ner", "--format", "jsonl", "-", stdin=red.stdout)
        assert RID not in red.stdout.decode()
        assert [f["entity_type"] for x in _jsonl(again) for f in x["findings"]] == ["CN_RESIDENT_ID_MASKED"]
    if op == "mask-all":  # nothing of the value is left: the copy scans clean
        red = cli("redact", "--no-ner", "data/users.csv", "--default", op, cwd=tree)
        assert cli("scan", "--no-ner", "-", stdin=red.stdout).returncode == 0


def test_cli_bare_command_and_groups_print_help_and_errors_name_the_option() -> None:
    r = cli()
    assert r.returncode == 0 and b"commands:" in r.stdout and b"scan" in r.stdout and b"worker" in r.stdout
    for group in ("consents", "counters", "topics"):
        r = cli(group)
        assert r.returncode == 2 and b"usage: piplwatch " + group.encode() in r.stdout, group
    r = cli("--bogus")
    err = r.stderr.decode().strip()
    assert r.returncode == 2 and err.count("\n") == 0 and "--bogus" in err and "arguments are required" not in err
    r = cli("scan", "--min-score", "nan", "-")
    assert (
        r.stderr.decode().startswith("piplwatch scan: --min-score: ")
        and "see piplwatch scan --help" in r.stderr.decode()
    )
    r = cli("scan", "--fail-on", "CRITICAL_THINGS", "-", stdin=b"")
    assert r.returncode == 2 and "--fail-on" in r.stderr.decode() and "Traceback" not in r.stderr.decode()


def test_redact_operator_lists_agree() -> None:  # the CLI keeps its own copy so that --help imports nothing heavy
    from detectors.anonymizer import OPERATORS
    from stream.cli.scan_options import OPERATORS as CLI_OPERATORS

    assert OPERATORS == CLI_OPERATORS


def test_cli_every_option_has_help_text() -> None:
    import argparse

    from stream.cli import build_parser

    def walk(p: argparse.ArgumentParser, name: str) -> list[str]:
        missing = []
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for sub_name, sp in a.choices.items():
                    missing += walk(sp, f"{name} {sub_name}")
            elif not isinstance(a, (argparse._HelpAction, argparse._VersionAction)) and not a.help:
                missing.append(f"{name} {'/'.join(a.option_strings) or a.dest}")
        return missing

    assert walk(build_parser(), "piplwatch") == []


def test_cli_help_starts_without_importing_the_scanner_or_kafka() -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from stream.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('hyperscan', 'faust', 'spacy', 'aiokafka', 'kafka', 'detectors.engine',"
            " 'ssl', 'asyncio') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.stdout.strip() == "[]", r.stdout + r.stderr


def test_scan_jsonl_fields_beside_text_are_scanned_and_pi_ids_are_not_echoed(tmp_path: Path) -> None:
    f = tmp_path / "e.jsonl"
    f.write_text(
        '{"id": "e1", "text": "你好", "phone": "13812345678"}\n{"id": "13900002222", "text": "没有"}\n'
        '{"id": "e3", "text": "电话13700003333"}\n',
        encoding="utf-8",
    )
    recs = _jsonl(cli("scan", "--no-ner", "--format", "jsonl", str(f)))
    assert [(x["id"], [(g.get("field"), g["entity_type"]) for g in x["findings"]]) for x in recs] == [
        ("e1", [("phone", "CN_MOBILE")]),
        (2, [("id", "CN_MOBILE")]),
        ("e3", [(None, "CN_MOBILE")]),
    ]
    red = cli("redact", "--no-ner", str(f), "--default", "replace").stdout.decode()
    assert "13812345678" not in red and "13900002222" not in red and "13700003333" not in red


def test_scan_and_redact_read_past_a_lone_surrogate_escape(tmp_path: Path) -> None:
    # "\ud800" is valid JSON but no character: UTF-8 cannot carry it, spaCy cannot hash it. One at the top of an
    # export stopped the scan (exit 2, nothing after it scanned): now it is read past, offsets unchanged.
    f = tmp_path / "in.jsonl"
    f.write_text(
        '{"id": "x\\udc00", "text": "\\ud800 张三的手机13812345678"}\n{"b": "13912345678"}\n', encoding="utf-8"
    )
    for extra in ((), ("--no-ner",)):
        r = cli("scan", *extra, "--format", "jsonl", str(f))
        assert r.returncode == 1 and r.stderr == b"", r.stderr
        lines = [json.loads(x) for x in r.stdout.decode().splitlines()]
        assert lines[0]["id"] == "x\udc00"
        mobile = next(x for x in lines[0]["findings"] if x["entity_type"] == "CN_MOBILE")
        assert (mobile["start"], mobile["end"]) == (7, 18) and lines[1]["findings"][0]["field"] == "b"
    red = cli("redact", str(f))
    assert red.returncode == 0, red.stderr
    first = json.loads(red.stdout.decode().splitlines()[0])
    assert first == {"id": "x\udc00", "text": "\ud800 张*的手机13********8"}
