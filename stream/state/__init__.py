"""A worker's local state: ``store`` (the RocksDB stores), ``keys`` (counter-set names) and ``materialize`` (the
consumer that fills the store from the consents, agreements and counters topics)."""
