"""Judge one transfer: parse, detect, group subjects, compute facts and counters, run the rules, shape outputs."""

from stream.judge.core import Judge, Outcome, counter_record, counter_records, dumps

__all__ = ["Judge", "Outcome", "counter_record", "counter_records", "dumps"]
