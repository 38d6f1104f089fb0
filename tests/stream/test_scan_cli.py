"""`piplwatch scan`: output contract, exit codes like grep, one clear line per bad file or line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def scan(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stream", "scan", "--no-ner", *args], input=stdin, capture_output=True, timeout=60
    )


def test_scan_cli_jsonl_one_line_per_input_in_order_with_offsets(tmp_path: Path) -> None:
    f = tmp_path / "in.jsonl"
    f.write_text(
        '{"id": "a", "text": "手机13812345678"}\n{"id": "b", "text": "没有个人信息"}\n'
        '{"id": 7, "payload": {"user": {"sfzh": "11010519491231002X"}}}\n',
        encoding="utf-8",
    )
    r = scan(str(f))
    assert r.returncode == 1 and r.stderr == b""
    lines = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert [x["id"] for x in lines] == ["a", "b", 7]
    a = lines[0]["findings"][0]
    assert (a["entity_type"], a["start"], a["end"], a["masked"]) == ("CN_MOBILE", 2, 13, False)
    assert {"score", "preview", "hmac", "category", "sensitivity"} <= set(a)
    assert lines[1]["findings"] == [] and lines[2]["findings"][0]["field"] == "user.sfzh"
    assert b"13812345678" not in r.stdout


def test_scan_cli_jsonl_keeps_ids_of_any_size_and_unicode(tmp_path: Path) -> None:
    # orjson writes the lines; an id beyond 64 bits, which it refuses, goes through the standard library
    f = tmp_path / "in.jsonl"
    f.write_text(f'{{"id": {10**30}, "text": "手机13812345678"}}\n{{"id": "订单一", "text": "无"}}\n', encoding="utf-8")
    r = scan("--format", "jsonl", str(f))
    lines = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert [x["id"] for x in lines] == [10**30, "订单一"] and r.stderr == b""
    assert len(lines[0]["findings"]) == 1 and "订单一".encode() in r.stdout  # UTF-8, not escapes


def test_scan_cli_exit_zero_when_nothing_found(tmp_path: Path) -> None:
    f = tmp_path / "clean.txt"
    f.write_text("今天天气很好\n房间干净，服务热情\n", encoding="utf-8")
    assert scan(str(f)).returncode == 0


def test_scan_cli_malformed_line_is_reported_and_the_rest_still_scanned(tmp_path: Path) -> None:
    f = tmp_path / "mixed.jsonl"
    f.write_text('{"id": 1, "text": "手机13812345678"}\n{broken\n{"id": 3, "text": "邮箱a@b.cn"}\n', encoding="utf-8")
    r = scan(str(f))
    assert r.returncode == 2
    err = r.stderr.decode().strip().splitlines()
    assert err == [
        f"piplwatch scan: {f}:2: malformed JSON (Expecting property name enclosed in double quotes at column 2)"
    ]
    assert [json.loads(x)["id"] for x in r.stdout.decode().splitlines()] == [1, 3]


@pytest.mark.parametrize(
    "content,message",
    [
        (None, "no such file"),
        (b"\xff\xfebad", "not UTF-8"),
        (b"\x00\x01\x02binary", "binary file skipped"),
    ],
)
def test_scan_cli_bad_file_gives_one_clear_line(tmp_path: Path, content, message) -> None:
    f = tmp_path / "x.txt"
    if content is not None:
        f.write_bytes(content)
    r = scan(str(f))
    assert r.returncode == 2 and r.stdout == b""
    lines = r.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.stderr.decode()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--min-score", "2"], "must be between 0 and 1"),
        (["--entities", "NOT_AN_ENTITY"], "unknown entity"),
        (["--format", "xml"], "invalid choice"),
        (["--config", "/nonexistent.toml"], "No such file"),
    ],
)
def test_scan_cli_bad_flag_gives_one_clear_line(args, message) -> None:
    r = scan(*args, "-", stdin=b"")
    err = r.stderr.decode()
    assert r.returncode == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_scan_cli_csv_and_table_and_filters(tmp_path: Path) -> None:
    f = tmp_path / "people.csv"
    f.write_text(
        "id,姓名,手机,身份证号\n1,王小明,13812345678,11010519491231002X\n2,李四,13900002222,\n", encoding="utf-8"
    )
    r = scan("--format", "table", "--entities", "CN_MOBILE", str(f))
    out = r.stdout.decode()
    rows = [line for line in out.splitlines() if line.startswith(str(f))]
    assert r.returncode == 1 and len(rows) == 2 and all("CN_MOBILE" in x for x in rows) and "CN_RESIDENT_ID" not in out
    assert "13812345678" not in out
    r = scan("--min-score", "0.99", str(f))
    assert all(x["score"] >= 0.99 for line in r.stdout.decode().splitlines() for x in json.loads(line)["findings"])


def test_scan_cli_reads_stdin() -> None:
    r = scan("-", stdin="联系电话 13812345678\n".encode())
    assert r.returncode == 1 and json.loads(r.stdout)["findings"][0]["entity_type"] == "CN_MOBILE"
