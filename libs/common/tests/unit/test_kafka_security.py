"""The Kafka clients' security settings (#25): plaintext by default, exactly as before; TLS against the brokers' CA
and SCRAM credentials when set, handed to every aiokafka client; production on Kafka refuses plaintext."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from recaudo_common.bus.kafka import KafkaSubscriber, KafkaTransport
from recaudo_common.bus.kafka_security import KafkaSecurity
from recaudo_common.settings import PlatformSettings, service_settings_config

pytestmark = pytest.mark.unit
SCRAM = {"RECAUDO_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "RECAUDO_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
         "RECAUDO_KAFKA_SASL_USERNAME": "recaudo-payments", "RECAUDO_KAFKA_SASL_PASSWORD": "p" * 32}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(__import__("os").environ):
        if name.startswith("RECAUDO_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture
def cluster_ca(tmp_path: Path) -> Path:
    """A CA certificate like the one Strimzi keeps in <cluster>-cluster-ca-cert (ca.crt)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "io.strimzi"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "cluster-ca v0")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path = tmp_path / "ca.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_by_default_the_clients_are_built_exactly_as_before(env: pytest.MonkeyPatch) -> None:
    assert KafkaSecurity.of(PlatformSettings()).client_args() == {}
    assert KafkaSecurity().client_args() == {}


def test_sasl_ssl_gives_a_verifying_tls_context_with_the_cluster_ca_and_scram(env: pytest.MonkeyPatch,
                                                                              cluster_ca: Path) -> None:
    for name, value in {**SCRAM, "RECAUDO_KAFKA_SSL_CAFILE": str(cluster_ca)}.items():
        env.setenv(name, value)
    args = KafkaSecurity.of(PlatformSettings()).client_args()
    context = args.pop("ssl_context")
    assert args == {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                    "sasl_plain_username": "recaudo-payments", "sasl_plain_password": "p" * 32}
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [dict(part[0] for part in c["subject"])["commonName"] for c in context.get_ca_certs()] == ["cluster-ca v0"]


class PaymentsLike(PlatformSettings):
    model_config = service_settings_config("payments")


def test_a_service_may_have_its_own_kafka_user(env: pytest.MonkeyPatch) -> None:
    env.setenv("RECAUDO_KAFKA_SASL_USERNAME", "recaudo-shared")
    env.setenv("RECAUDO_PAYMENTS_KAFKA_SASL_USERNAME", "recaudo-payments")
    assert KafkaSecurity.of(PaymentsLike()).username == "recaudo-payments"
    assert KafkaSecurity.of(PlatformSettings()).username == "recaudo-shared"


def test_a_missing_ca_file_fails_before_any_connection(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        KafkaSecurity(protocol="SSL", cafile=str(tmp_path / "absent.crt")).client_args()


def test_the_password_is_never_in_the_repr() -> None:
    assert "s3cret" not in repr(KafkaSecurity(protocol="SASL_SSL", username="u", password="s3cret"))


async def test_every_client_of_the_transport_gets_the_security(cluster_ca: Path) -> None:
    security = KafkaSecurity(protocol="SASL_SSL", username="recaudo-ingest", password="p" * 32,
                             cafile=str(cluster_ca))
    transport = KafkaTransport("recaudo-kafka-bootstrap:9093", security=security)
    producer = transport.new_producer()
    subscriber = transport.subscriber("recaudo.ingest", ["recaudo.debtor"])
    assert isinstance(subscriber, KafkaSubscriber)
    consumer = subscriber.new_consumer()
    for client in (producer.client, consumer._client):
        assert client._security_protocol == "SASL_SSL" and client._sasl_mechanism == "SCRAM-SHA-512"
        assert client._sasl_plain_username == "recaudo-ingest" and client._ssl_context is not None
    plain = KafkaTransport("127.0.0.1:19092").new_producer()
    assert plain.client._security_protocol == "PLAINTEXT" and plain.client._ssl_context is None
    await consumer.stop()
    await producer.stop()
    await plain.stop()


def production(env: pytest.MonkeyPatch, **variables: str) -> list[str]:
    for name, value in variables.items():
        env.setenv(name, value)
    env.setenv("RECAUDO_ENVIRONMENT", "production")
    return [str(p) for p in PlatformSettings().production_problems() if "KAFKA" in p.variable]


def test_production_on_kafka_refuses_plaintext_and_missing_credentials(env: pytest.MonkeyPatch,
                                                                       cluster_ca: Path) -> None:
    assert production(env, RECAUDO_TRANSPORT="kafka") == [
        "RECAUDO_KAFKA_SECURITY_PROTOCOL: Kafka without TLS (PLAINTEXT; use SASL_SSL)"]
    assert production(env, RECAUDO_KAFKA_SECURITY_PROTOCOL="SASL_SSL") == [
        "RECAUDO_KAFKA_SASL_USERNAME: Kafka SASL username not set",
        "RECAUDO_KAFKA_SASL_PASSWORD: Kafka SASL password not set"]
    assert production(env, **SCRAM, RECAUDO_KAFKA_SSL_CAFILE="/nowhere/ca.crt") == [
        "RECAUDO_KAFKA_SSL_CAFILE: Kafka CA file /nowhere/ca.crt does not exist"]
    assert production(env, RECAUDO_KAFKA_SSL_CAFILE=str(cluster_ca)) == []


def test_production_on_the_postgres_transport_has_no_kafka_rule(env: pytest.MonkeyPatch) -> None:
    assert production(env, RECAUDO_TRANSPORT="postgres") == []
