"""Judge one transfer: parse, detect, group subjects, compute facts and counters, run the rules, shape outputs.

``core`` (the ``Judge`` and its outcomes), ``subjects`` (findings grouped into people, consent status), ``facts``
(what the rules read, and the counters), ``shaping`` (verdict, alert, dead-letter and counter records).
"""

from stream.judge.core import DeadLettered, Judge, Judged, Outcome
from stream.judge.facts import Facts
from stream.judge.shaping import counter_record, counter_records, dumps

__all__ = ["DeadLettered", "Facts", "Judge", "Judged", "Outcome", "counter_record", "counter_records", "dumps"]
