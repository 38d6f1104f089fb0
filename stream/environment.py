"""The environment variables a worker reads, with what each sets (``piplwatch worker --help`` prints them).

A module of its own: the CLI lists them without importing the settings (and their TLS and asyncio machinery).
"""

#: (variable, what it sets): the environment a worker reads
ENVIRONMENT = (
    ("PIPLWATCH_BROKER", "Kafka bootstrap, kafka://HOST:PORT[,HOST:PORT]"),
    ("PIPLWATCH_SECURITY_PROTOCOL", "PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL"),
    ("PIPLWATCH_SSL_CAFILE", "CA bundle that signed the brokers' certificates (default: the system's)"),
    ("PIPLWATCH_SSL_CERTFILE", "client certificate for mutual TLS (PEM; may hold the key too)"),
    ("PIPLWATCH_SSL_KEYFILE", "client key for mutual TLS (PEM)"),
    ("PIPLWATCH_SASL_MECHANISM", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"),
    ("PIPLWATCH_SASL_USERNAME", "SASL user"),
    ("PIPLWATCH_SASL_PASSWORD_FILE", "file holding the SASL password (a mounted secret; preferred)"),
    ("PIPLWATCH_SASL_PASSWORD", "the SASL password itself (when no file)"),
    ("PIPLWATCH_HMAC_KEY_FILE", "the keyed-HMAC key, the same on every worker (required)"),
    ("PIPLWATCH_STATE_DIR", "local RocksDB state and Faust's data dir (the only path a worker writes)"),
    ("PIPLWATCH_PARTITIONS", "partitions of topics the worker creates (default 4)"),
    ("PIPLWATCH_REPLICATION_FACTOR", "replication of topics the worker creates (default: min(3, brokers))"),
    ("PIPLWATCH_WEB_BIND", "address of /metrics, /healthz, /livez and the dashboard (default 127.0.0.1)"),
    ("PIPLWATCH_WEB_PORT", "their port (default 9464)"),
    ("PIPLWATCH_WEB_AUTH_FILE", "'user:password' or a bearer token for the dashboard and API (required off loopback)"),
    ("PIPLWATCH_NER", "gated (default), full or off: which text the NER model reads (1/0 mean gated/off)"),
    ("PIPLWATCH_DETECTOR_CONFIG", "detector config file (TOML or YAML)"),
    ("PIPLWATCH_MAX_MESSAGE_BYTES", "largest transfer judged (default 8 MiB; larger ones are dead-lettered)"),
    ("PIPLWATCH_MAX_OUTPUT_BYTES", "largest record produced (default 1,000,000: under Kafka's max.message.bytes)"),
    ("PIPLWATCH_MAX_RECORD_COUNT", "largest record_count accepted (default 10,000,000)"),
    ("PIPLWATCH_REBUILD_STATE", "1 to read consents and agreements from the beginning at start"),
    ("PIPLWATCH_ALLOW_DELETING_TOPICS", "1 to run on consents/agreements topics whose retention deletes records"),
    ("PIPLWATCH_APP_ID", "Faust app id and consumer group (default piplwatch)"),
)
