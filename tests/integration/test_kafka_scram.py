"""The services' Kafka clients against a real broker secured as deploy/k8s secures Strimzi's (#25): TLS with a
cluster CA, SCRAM-SHA-512 users, the standard authorizer and no access without an ACL. A broker of its own (the
scripts/kafka.sh jars, another port; the shared broker is left alone), the generated KafkaUser's ACLs of ingest
applied to it: ingest's transport does what its code does, and nothing else; a wrong password, a plaintext
client and a client that does not trust the cluster CA are refused."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import GroupAuthorizationFailedError, KafkaError, TopicAuthorizationFailedError
from aiokafka.protocol.admin import CreateAclsRequest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from recaudo import deploy_kafka
from recaudo_common.bus.base import OutgoingMessage
from recaudo_common.bus.kafka import KafkaTransport
from recaudo_common.bus.kafka_security import KafkaSecurity
from recaudo_common.events import ACCOUNT_READERS, CONTACT_READERS
from recaudo_common.local_ports import free_port
from recaudo_common.testing import REPOSITORY_ROOT, eventually

pytestmark = pytest.mark.integration
KAFKA_VERSION = "4.4.0"
ADMIN, ADMIN_PASSWORD = "admin", "admin-" + uuid.uuid4().hex
INGEST, INGEST_PASSWORD = deploy_kafka.user_of("ingest"), "ingest-" + uuid.uuid4().hex
# Kafka's wire codes (org.apache.kafka.common.acl / resource): resource, pattern, operation, permission.
RESOURCE = {"topic": 2, "group": 3}
PATTERN = {"literal": 3, "prefix": 4}
OPERATION = {"Read": 3, "Write": 4, "Describe": 8}
ALLOW = 3


@dataclass(frozen=True)
class Broker:
    bootstrap: str
    cafile: str

    def security(self, username: str, password: str, cafile: str | None = "") -> KafkaSecurity:
        return KafkaSecurity(protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", username=username,
                             password=password, cafile=self.cafile if cafile == "" else cafile)


def _certificates(folder: Path) -> tuple[Path, Path]:
    """A cluster CA and a broker certificate it signs for 127.0.0.1 (what Strimzi's cluster CA does)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cluster-ca v0")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    broker = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "recaudo-kafka-0")]))
              .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    keystore, cafile = folder / "broker.pem", folder / "ca.crt"
    keystore.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
                         + broker.public_bytes(pem) + ca.public_bytes(pem))
    cafile.write_bytes(ca.public_bytes(pem))
    return keystore, cafile


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    folder = tmp_path_factory.mktemp("scram-broker")
    fetched = subprocess.run(["bash", str(REPOSITORY_ROOT / "scripts" / "kafka.sh"), "fetch"],
                             env={**os.environ, "KAFKA_VERSION": KAFKA_VERSION}, capture_output=True, text=True)
    assert fetched.returncode == 0, fetched.stderr
    classpath = str(Path(os.environ.get("RECAUDO_CACHE", REPOSITORY_ROOT / ".cache")) / "kafka" / KAFKA_VERSION
                    / "libs" / "*")
    keystore, cafile = _certificates(folder)
    port, controller = free_port(), free_port()
    (folder / "server.properties").write_text(f"""
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller}
listeners=SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}
advertised.listeners=SASL_SSL://127.0.0.1:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule \
required username="{ADMIN}" password="{ADMIN_PASSWORD}";
ssl.keystore.type=PEM
ssl.keystore.location={keystore}
ssl.truststore.type=PEM
ssl.truststore.location={cafile}
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:{ADMIN};User:ANONYMOUS
allow.everyone.if.no.acl.found=false
log.dirs={folder / "logs"}
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
""")
    formatted = subprocess.run(
        ["java", "-cp", classpath, "kafka.tools.StorageTool", "format", "-t", "scram-test-cluster-000001",
         "-c", str(folder / "server.properties"),
         "--add-scram", f"SCRAM-SHA-512=[name={ADMIN},password={ADMIN_PASSWORD}]",
         "--add-scram", f"SCRAM-SHA-512=[name={INGEST},password={INGEST_PASSWORD}]"],
        capture_output=True, text=True, timeout=120)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    process = subprocess.Popen(  # this test's own broker, stopped below by its handle
        ["java", "-Xms128m", "-Xmx512m", "-Djava.awt.headless=true", f"-Dkafka.logs.dir={folder}",
         "-cp", classpath, "kafka.Kafka", str(folder / "server.properties")],
        stdout=(folder / "stdout.log").open("w"), stderr=subprocess.STDOUT)
    try:
        yield Broker(f"127.0.0.1:{port}", str(cafile))
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


async def _admin(broker: Broker) -> AIOKafkaAdminClient:
    """The operator's super user, as Strimzi's own clients are: waits for the broker to answer."""
    async def started() -> AIOKafkaAdminClient | None:
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap,
                                    **broker.security(ADMIN, ADMIN_PASSWORD).client_args())
        try:
            await admin.start()
            return admin
        except KafkaError:
            await admin.close()
            return None

    return await eventually(started, timeout_s=90)


@pytest.fixture(scope="module")
async def ingest_user(broker: Broker) -> AsyncIterator[KafkaSecurity]:
    """The topics, and ingest's ACLs exactly as the generated KafkaUser recaudo-ingest has them."""
    admin = await _admin(broker)
    try:
        await admin.create_topics([NewTopic(t, 1, 1) for t in deploy_kafka.topics("recaudo")])
        needs = deploy_kafka.kafka_needs("ingest", "recaudo")
        for rule in deploy_kafka.acls(needs):
            resource = rule["resource"]
            for operation in rule["operations"]:
                # aiokafka has no create_acls: the request itself
                await admin._send_request(CreateAclsRequest(
                    RESOURCE[resource["type"]], resource["name"], PATTERN[resource["patternType"]],
                    f"User:{INGEST}", "*", OPERATION[operation], ALLOW))
    finally:
        await admin.close()
    yield broker.security(INGEST, INGEST_PASSWORD)


async def _set_read_nothing(broker: Broker, group: str, topic: str) -> None:
    """The operator commits `group` at the start of `topic`'s one partition: it has read nothing of it."""
    reader = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=group, enable_auto_commit=False,
                              **broker.security(ADMIN, ADMIN_PASSWORD).client_args())
    await reader.start()
    try:
        reader.assign([TopicPartition(topic, 0)])
        await reader.commit({TopicPartition(topic, 0): 0})
    finally:
        await reader.stop()


async def test_ingest_does_what_its_code_does_as_its_own_user_over_tls(broker: Broker,
                                                                       ingest_user: KafkaSecurity) -> None:
    transport = KafkaTransport(broker.bootstrap, partitions=1, security=ingest_user)
    await asyncio.wait_for(transport.start(), 60)
    try:
        # What ingest emits (client, account, debtor) goes out; its consumer's topics exist to it (Describe).
        await transport.publish(None, [OutgoingMessage("recaudo.account", "c/a-1", '{"x": 1}', {}),
                                       OutgoingMessage("recaudo.debtor", "c/a-1", '{"erase": 1}', {})])
        await transport.ensure_topics(["recaudo.debtor", "recaudo.debtor.dlq"])
        await transport.publish(None, [OutgoingMessage("recaudo.debtor.dlq", "c/a-1", '{"dead": 1}', {})])
        subscriber = transport.subscriber("recaudo.ingest", ["recaudo.debtor"])
        await subscriber.start()
        try:
            async def read() -> list[str] | None:
                return [m.raw.decode() for m in await subscriber.fetch(timeout_s=1.0)] or None

            assert await eventually(read, timeout_s=60) == ['{"erase": 1}']
        finally:
            await subscriber.stop()
        # The bulk lane reads the account topic's readers' offsets (Describe on their groups) and the topic's end
        # (Describe on it): segmentation, as the operator sets it here, has read nothing of the one record.
        await _set_read_nothing(broker, "recaudo.segmentation", "recaudo.account")
        readers = [f"recaudo.{r}" for r in ACCOUNT_READERS]
        assert await transport.backlog("recaudo.account", readers, at_most=100) == 1
        # And the contact topic's lanes (outreach records consents there for the accounts it reads): Describe on
        # the topic and on their groups, though ingest may neither read nor write it. Outreach (the operator here)
        # wrote one record, which reporting's contact lane has not read.
        outreach = AIOKafkaProducer(bootstrap_servers=broker.bootstrap,
                                    **broker.security(ADMIN, ADMIN_PASSWORD).client_args())
        await outreach.start()
        try:
            await outreach.send_and_wait("recaudo.contact", b'{"consent": 1}', key=b"c/a-1")
        finally:
            await outreach.stop()
        await _set_read_nothing(broker, "recaudo.reporting-contacts", "recaudo.contact")
        assert await transport.backlog("recaudo.contact", [f"recaudo.{r}" for r in CONTACT_READERS],
                                       at_most=100) == 1
        with pytest.raises(GroupAuthorizationFailedError):  # a group it does not watch
            await transport.backlog("recaudo.account", ["recaudo.someone-else"], at_most=100)
    finally:
        await transport.stop()


async def test_ingest_may_not_write_or_read_what_its_code_does_not(broker: Broker,
                                                                   ingest_user: KafkaSecurity) -> None:
    args = ingest_user.client_args()
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, request_timeout_ms=10000, **args)
    await producer.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):  # payments' topic
            await asyncio.wait_for(producer.send_and_wait("recaudo.payment", b"forged"), 30)
    finally:
        await producer.stop()
    for group, topic, refusal in (("recaudo.ingest", "recaudo.payment", TopicAuthorizationFailedError),
                                  ("recaudo.payments", "recaudo.debtor", GroupAuthorizationFailedError)):
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group,
                                    auto_offset_reset="earliest", enable_auto_commit=False, **args)
        with pytest.raises(refusal):  # another service's topic, or another service's group
            await asyncio.wait_for(consumer.start(), 30)
            await asyncio.wait_for(consumer.getone(), 30)
        await consumer.stop()


@pytest.mark.parametrize("how", ["wrong password", "plaintext", "untrusted CA"])
async def test_a_client_without_the_right_credentials_or_tls_is_refused(broker: Broker, ingest_user: KafkaSecurity,
                                                                        how: str) -> None:
    security = {"wrong password": broker.security(INGEST, "not-" + INGEST_PASSWORD),
                "plaintext": KafkaSecurity(),
                "untrusted CA": broker.security(INGEST, INGEST_PASSWORD, cafile=None)}[how]
    transport = KafkaTransport(broker.bootstrap, partitions=1, security=security)
    with pytest.raises((KafkaError, OSError, asyncio.TimeoutError)):
        await asyncio.wait_for(transport.start(), 20)
    await transport.stop()
