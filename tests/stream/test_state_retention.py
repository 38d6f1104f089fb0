"""The worker's durable store stays bounded: done markers, daily sets and year-to-date sets go after their retention,
and what the rules still read stays."""

from __future__ import annotations

import datetime as dt
import time

from stream.state.store import DAILY_KEEP_DAYS, DONE_DAYS, StateStore, _under

DAY = 86400.0
PAYLOAD = [{"user_id": "u1", "手机号": "13812345678"}, {"user_id": "u2", "手机号": "13987654321"}]


def _keys(state: StateStore, prefix: bytes) -> list[bytes]:
    return [k for k, _ in _under(state.durable, prefix)]


def test_done_markers_hold_for_their_buckets_and_are_dropped_after(tmp_path) -> None:
    state = StateStore(tmp_path)
    now = time.time()
    state.mark_done("t-1", b"digest-1", now=now)
    state.durable[b"done|t-legacy"] = b"old layout"
    for later in range(DONE_DAYS):
        assert state.is_done("t-1", b"digest-1", now=now + later * DAY)
    assert not state.is_done("t-1", b"other content", now=now)
    assert not state.is_done("t-1", b"digest-1", now=now + DONE_DAYS * DAY)
    state.prune(now=now + (DONE_DAYS - 1) * DAY)
    assert _keys(state, b"d|"), "a marker inside its retention was dropped"
    assert not _keys(state, b"done|"), "markers of the earlier layout are never dropped otherwise"
    state.prune(now=now + DONE_DAYS * DAY)
    assert not _keys(state, b"d|")
    state.close()


def test_prune_drops_daily_sets_past_retention_and_keeps_the_baseline_window(judge_env) -> None:
    env = judge_env
    env.agreement("r1", cats=("contact",), purposes=("marketing",))
    old, kept = (DAILY_KEEP_DAYS + 3, DAILY_KEEP_DAYS), (DAILY_KEEP_DAYS - 1, 7, 1, 0)
    for i, age in enumerate(old + kept):
        out = env.transfer(PAYLOAD, transfer_id=f"t{i}", occurred_at=env.iso(-age), record_count=5)  # 3 unnamed
        assert out.verdict is not None
    days = {age: (env.now - dt.timedelta(days=age)).date().isoformat() for age in old + kept}
    size = lambda age: env.state.set_size(f"daily|r1|{days[age]}")  # noqa: E731
    assert all(size(age) == 5 for age in old + kept), "the judge wrote its daily sets under other names"
    gone = env.state.prune(now=env.now.timestamp())
    assert gone["daily_sets"] == len(old)
    for age in old:
        assert size(age) == 0
        assert not _keys(env.state, f"s|daily|r1|{days[age]}|".encode())
        assert not _keys(env.state, f"x|daily|r1|{days[age]}|".encode())
    assert all(size(age) == 5 for age in kept) and _keys(env.state, f"x|daily|r1|{days[0]}|".encode())
    assert env.state.daily_history("r1", env.now.date()) == [5, 5], "the 7-day baseline lost a day it reads"


def test_prune_drops_cross_border_year_sets_older_than_last_year(judge_env) -> None:
    env = judge_env
    env.agreement("r1", cats=("contact",), purposes=("marketing",), country="SG")
    this_year = env.now.year
    for i, years_back in enumerate((2, 1, 0)):
        when = env.now.replace(year=this_year - years_back, month=6, day=15) if years_back else env.now
        out = env.transfer(PAYLOAD, transfer_id=f"cb{i}", country="SG", occurred_at=when.isoformat())
        assert out.facts.cross_border
    for years_back in (2, 1, 0):
        assert env.state.set_size(f"cb|{this_year - years_back}|pi") == 2
    gone = env.state.prune(now=env.now.timestamp())
    assert gone["ytd_sets"] >= 1
    assert env.state.set_size(f"cb|{this_year - 2}|pi") == 0
    assert not _keys(env.state, f"s|cb|{this_year - 2}|".encode())
    assert env.state.set_size(f"cb|{this_year - 1}|pi") == 2 and env.state.set_size(f"cb|{this_year}|pi") == 2
