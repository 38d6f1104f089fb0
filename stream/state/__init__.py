"""A worker's local state: the RocksDB stores (``store``) and the materializer that fills them from Kafka."""

from stream.state.materialize import Materializer, apply_record, store_record
from stream.state.store import SourcePosition, StateStore

__all__ = ["Materializer", "SourcePosition", "StateStore", "apply_record", "store_record"]
