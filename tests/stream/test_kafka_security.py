"""Kafka security, for real where it can be had here: TLS through stunnel in front of the embedded broker (server
certificate and mutual TLS, with a CA made in the test), a failed SASL handshake against the broker's own
``--authentication``; and, for every supported combination, the settings Faust, aiokafka and kafka-python each
receive, compared field by field.

SASL with a successful handshake cannot be had here: the embedded broker keeps users in memory storage, and creating
one needs an authenticated connection to that same broker (``tansu user create`` fails with NotAuthenticated), so
the SASL combinations are covered by the mapping test and by a real refused handshake.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from stream.dev.broker import broker_binary, free_port, port_open
from stream.security import KafkaSecurity, SettingsError
from tests.stream.harness import TOPICS, WorkerProc, read_topic, transfer

ROOT = Path(__file__).resolve().parents[2]
STUNNEL = shutil.which("stunnel4") or shutil.which("stunnel")


def _cert(tmp: Path, name: str, issuer=None, *, ca: bool = False, cn: str = "localhost"):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
    )
    if ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    else:
        b = b.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    cert = b.sign(issuer[1] if issuer else key, hashes.SHA256())
    (tmp / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / f"{name}.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pki")
    ca = _cert(tmp, "ca", ca=True, cn="piplwatch test CA")
    _cert(tmp, "server", ca)
    _cert(tmp, "client", ca, cn="piplwatch-worker")
    _cert(tmp, "other-ca", ca=True, cn="someone else's CA")
    return tmp


class TlsBroker:
    """The embedded broker behind stunnel: clients speak TLS to ``port``, the broker advertises that endpoint."""

    def __init__(self, pki: Path, work: Path, *, client_certs: bool = False) -> None:
        self.pki, self.work, self.client_certs = pki, work, client_certs
        self.plain, self.port = free_port(), free_port()
        self.procs: list[subprocess.Popen] = []

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> TlsBroker:
        addr = f"tcp://127.0.0.1:{self.plain}"
        self.procs.append(
            subprocess.Popen(
                [
                    broker_binary(),
                    "broker",
                    "--listener-url",
                    addr,
                    "--advertised-listener-url",
                    f"tcp://127.0.0.1:{self.port}",
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        conf = self.work / f"stunnel-{self.port}.conf"
        lines = [
            "foreground = yes",
            "pid =",
            f"output = {self.work / 'stunnel.log'}",
            "[kafka]",
            f"accept = 127.0.0.1:{self.port}",
            f"connect = 127.0.0.1:{self.plain}",
            f"cert = {self.pki / 'server.pem'}",
            f"key = {self.pki / 'server.key'}",
        ]
        if self.client_certs:
            lines += [f"CAfile = {self.pki / 'ca.pem'}", "verifyChain = yes", "requireCert = yes"]
        conf.write_text("\n".join(lines) + "\n")
        self.procs.append(
            subprocess.Popen(
                [STUNNEL, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
            )
        )
        deadline = time.monotonic() + 10
        while not (port_open("127.0.0.1", self.port) and port_open("127.0.0.1", self.plain)):
            assert time.monotonic() < deadline, "the TLS endpoint did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
            p.wait(5)


def _worker_cmd(bootstrap: str, key_file: Path, tmp: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "stream",
        "worker",
        "--broker",
        f"kafka://{bootstrap}",
        "--hmac-key-file",
        str(key_file),
        "--web-port",
        str(free_port()),
        "--state-dir",
        str(tmp / "state"),
        "--no-ner",
        *extra,
    ]


needs_stunnel = pytest.mark.skipif(STUNNEL is None, reason="stunnel4 not installed (tests/install-system-deps.sh)")


@needs_stunnel
@pytest.mark.broker
@pytest.mark.slow
def test_security_tls_for_real_a_worker_judges_through_stunnel_with_the_test_ca(pki, key_file, tmp_path) -> None:
    with TlsBroker(pki, tmp_path) as broker:
        tls = {"security_protocol": "SSL", "ssl_cafile": str(pki / "ca.pem")}
        w = WorkerProc(
            broker.bootstrap,
            tmp_path,
            key_file,
            extra=("--security-protocol", "SSL", "--ssl-cafile", str(pki / "ca.pem")),
        ).start(timeout=90)
        try:
            from kafka import KafkaProducer

            prod = KafkaProducer(bootstrap_servers=broker.bootstrap, **tls)
            prod.send(TOPICS.transfers, key=b"t-tls", value=orjson.dumps(transfer("t-tls", [{"手机": "13800001111"}])))
            prod.flush()
            got = read_topic(broker.bootstrap, TOPICS.verdicts, until=lambda ms: len(ms) >= 1, timeout=60, **tls)
            assert orjson.loads(got[0].value)["transfer_id"] == "t-tls"
            prod.close()
        finally:
            w.stop()


@needs_stunnel
@pytest.mark.broker
@pytest.mark.slow
def test_security_mutual_tls_needs_the_client_certificate(pki, key_file, tmp_path) -> None:
    with TlsBroker(pki, tmp_path, client_certs=True) as broker:
        base = ("--security-protocol", "SSL", "--ssl-cafile", str(pki / "ca.pem"))
        r = subprocess.run(
            _worker_cmd(broker.bootstrap, key_file, tmp_path, *base),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "TLS" in r.stderr
        w = WorkerProc(
            broker.bootstrap,
            tmp_path,
            key_file,
            extra=(*base, "--ssl-certfile", str(pki / "client.pem"), "--ssl-keyfile", str(pki / "client.key")),
        ).start(90)
        w.stop()


@needs_stunnel
@pytest.mark.broker
def test_security_an_untrusted_certificate_fails_in_one_clear_line(pki, key_file, tmp_path) -> None:
    with TlsBroker(pki, tmp_path) as broker:
        for extra, says in (
            (("--security-protocol", "SSL", "--ssl-cafile", str(pki / "other-ca.pem")), "not trusted"),
            (("--security-protocol", "SSL"), "not trusted"),  # the system CA bundle does not know the test CA
            ((), "did not answer a metadata request"),  # PLAINTEXT to a TLS port
        ):
            t0 = time.monotonic()
            r = subprocess.run(
                _worker_cmd(broker.bootstrap, key_file, tmp_path, *extra),
                capture_output=True,
                text=True,
                timeout=60,
                cwd=ROOT,
            )
            assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
            assert len(r.stderr.strip().splitlines()) == 1 and says in r.stderr, r.stderr
            assert time.monotonic() - t0 < 30


@pytest.mark.broker
def test_security_a_refused_sasl_handshake_fails_in_one_clear_line(key_file, tmp_path) -> None:
    port = free_port()
    addr = f"tcp://127.0.0.1:{port}"
    broker = subprocess.Popen(
        [
            broker_binary(),
            "broker",
            "--listener-url",
            addr,
            "--advertised-listener-url",
            addr,
            "--storage-engine",
            "memory://tansu/",
            "--authentication",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while not port_open("127.0.0.1", port):
            time.sleep(0.05)
        pw = tmp_path / "password"
        pw.write_text("not-the-password\n")
        r = subprocess.run(
            _worker_cmd(
                f"127.0.0.1:{port}",
                key_file,
                tmp_path,
                "--security-protocol",
                "SASL_PLAINTEXT",
                "--sasl-mechanism",
                "SCRAM-SHA-512",
                "--sasl-username",
                "piplwatch",
                "--sasl-password-file",
                str(pw),
            ),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert r.stderr.strip().count("\n") == 0 and "SASL authentication as 'piplwatch'" in r.stderr, r.stderr
        assert "not-the-password" not in r.stderr
    finally:
        broker.send_signal(signal.SIGTERM)
        broker.wait(5)


def test_security_local_configuration_is_checked_before_kafka_is_contacted(tmp_path) -> None:
    # nothing listens on port 9: a check that contacted Kafka first would wait and then fail about the broker
    base = [
        sys.executable,
        "-m",
        "stream",
        "worker",
        "--broker",
        "kafka://127.0.0.1:9",
        "--state-dir",
        str(tmp_path / "s"),
    ]
    for extra, says in (
        (["--hmac-key-file", str(tmp_path / "missing.key")], "HMAC key: No such file or directory"),
        ([], "set --hmac-key-file"),
        (["--hmac-key-file", str(tmp_path / "k"), "--ssl-cafile", "ca.pem"], "TLS files were given but"),
        (["--hmac-key-file", str(tmp_path / "k"), "--web-bind", "0.0.0.0"], "PIPLWATCH_WEB_AUTH_FILE"),
    ):
        (tmp_path / "k").write_text("0123456789abcdef0123")
        t0 = time.monotonic()
        r = subprocess.run(base + extra, capture_output=True, text=True, timeout=30, cwd=ROOT)
        assert r.returncode == 2 and says in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert time.monotonic() - t0 < 10


# -- the mapping, for every supported combination ------------------------------------------------------------
COMBOS = [
    ("PLAINTEXT", None, False, None),
    ("SSL", None, False, None),  # the system CA bundle
    ("SSL", "ca", False, None),
    ("SSL", "ca", True, None),  # a client certificate (mutual TLS)
    *[("SASL_PLAINTEXT", None, False, m) for m in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")],
    *[("SASL_SSL", "ca", False, m) for m in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")],
    ("SASL_SSL", None, False, "SCRAM-SHA-512"),
]


@pytest.mark.parametrize("protocol,ca,client_cert,mechanism", COMBOS)
def test_security_faust_aiokafka_and_kafka_python_receive_the_same_settings(
    pki, protocol, ca, client_cert, mechanism
) -> None:
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    from stream.settings import Settings

    s = Settings(
        broker="kafka://127.0.0.1:9092",
        security_protocol=protocol,
        ssl_cafile=str(pki / "ca.pem") if ca else None,
        ssl_certfile=str(pki / "client.pem") if client_cert else None,
        ssl_keyfile=str(pki / "client.key") if client_cert else None,
        sasl_mechanism=mechanism,
        sasl_username="u" if mechanism else None,
        sasl_password="p4ssw0rd" if mechanism else None,
    )
    s.security.check()
    faust_side = credentials_to_aiokafka_auth(s.faust_credentials())
    aio, kp = s.aiokafka_kwargs(), s.kafka_python_kwargs()
    assert faust_side["security_protocol"] == aio["security_protocol"] == kp["security_protocol"] == protocol
    tls = protocol in ("SSL", "SASL_SSL")
    for side in (faust_side, aio, kp):
        assert (side.get("ssl_context") is not None) is tls  # never a TLS protocol without a context, or the reverse
        if tls:
            assert side["ssl_context"] is s.ssl_context  # one context: the same CA, certificate and checks everywhere
            assert side["ssl_context"].verify_mode.name == "CERT_REQUIRED" and side["ssl_context"].check_hostname
        if mechanism:
            assert (side["sasl_mechanism"], side["sasl_plain_username"], side["sasl_plain_password"]) == (
                mechanism,
                "u",
                "p4ssw0rd",
            )
        else:
            assert (
                "sasl_mechanism" not in side
                or side["sasl_mechanism"] in (None, "PLAIN")
                and protocol in ("PLAINTEXT", "SSL")
            )
    assert "p4ssw0rd" not in repr(s) and "p4ssw0rd" not in repr(s.security)


@pytest.mark.parametrize(
    "kw,says",
    [
        ({"protocol": "PLAINTEXT", "cafile": "ca.pem"}, "would not be encrypted"),
        (
            {
                "protocol": "SASL_PLAINTEXT",
                "cafile": "ca.pem",
                "sasl_mechanism": "PLAIN",
                "sasl_username": "u",
                "sasl_password": "p",
            },
            "would not be encrypted",
        ),
        ({"protocol": "SSL", "sasl_mechanism": "SCRAM-SHA-512", "sasl_username": "u"}, "would be ignored"),
        ({"protocol": "PLAINTEXT", "sasl_username": "u"}, "would be ignored"),
        ({"protocol": "SASL_SSL", "sasl_username": "u", "sasl_password": "p"}, "needs a SASL mechanism"),
        ({"protocol": "SASL_SSL", "sasl_mechanism": "PLAIN", "sasl_username": "u"}, "password"),
        ({"protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI", "sasl_username": "u", "sasl_password": "p"}, "mechanism"),
        ({"protocol": "TLS"}, "must be one of"),
        ({"protocol": "SSL", "keyfile": "client.key"}, "needs its certificate"),
        ({"protocol": "SSL", "cafile": "missing.pem"}, "cannot be read"),
        ({"protocol": "SSL", "certfile": "client.pem", "keyfile": "server.key"}, "TLS files unusable"),
    ],
)
def test_security_combinations_that_would_fall_back_or_fail_are_refused(pki, kw, says) -> None:
    files = {k: str(pki / v) for k, v in kw.items() if k in ("cafile", "certfile", "keyfile")}
    with pytest.raises(SettingsError, match=says):
        KafkaSecurity(**{**kw, **files}).check()
