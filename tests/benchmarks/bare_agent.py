"""A Faust agent that only counts messages: the baseline for the stream benchmark.

Usage: python bare_agent.py BROKER_URL TOPIC COUNT APP_ID  -> prints "<count> <seconds from first to last>"
"""

from __future__ import annotations

import os
import sys
import time

import faust

broker, topic_name, count, app_id = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
app = faust.App(
    app_id,
    broker=broker,
    broker_session_timeout=6,
    broker_heartbeat_interval=2,
    web_enabled=False,
    store="memory://",
    consumer_auto_offset_reset="earliest",
    broker_commit_every=500,
    broker_commit_interval=1.0,
)
topic = app.topic(topic_name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
state = {"n": 0, "first": 0.0}


@app.agent(topic)
async def count_agent(stream):
    async for _ in stream.events():
        if state["n"] == 0:
            state["first"] = time.perf_counter()
            state["cpu"] = time.process_time()
        state["n"] += 1
        if state["n"] >= count:
            print(state["n"], time.perf_counter() - state["first"], time.process_time() - state["cpu"], flush=True)
            os._exit(0)


if __name__ == "__main__":
    from faust.worker import Worker

    Worker(
        app, loglevel=os.environ.get("BARE_LOGLEVEL", "error"), quiet=True, redirect_stdouts=False
    ).execute_from_commandline()
