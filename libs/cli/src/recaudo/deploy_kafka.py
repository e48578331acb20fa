"""The Strimzi objects of deploy/k8s (`recaudo deploy k8s`): the Kafka cluster on kafka.strimzi.io/v1 with one TLS
listener that takes SCRAM-SHA-512 users, a KafkaTopic per topic and dead-letter topic, and a KafkaUser per service
whose ACLs are what that service's code produces, consumes and dead-letters, derived from the code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recaudo_common.bus.kafka import DLQ_REPLAY_GROUP
from recaudo_common.events import ACCOUNT_READERS, CONTACT_READERS, REGISTRY, dlq_topic, group_id, topic_name

STRIMZI_API = "kafka.strimzi.io/v1"  # Strimzi 1.0 serves v1 only
CLUSTER = "recaudo"
LISTENER_PORT = 9093
BOOTSTRAP = f"{CLUSTER}-kafka-bootstrap:{LISTENER_PORT}"
# Strimzi keeps the cluster CA's certificate (which signs the brokers') in this Secret, key ca.crt; each pod mounts
# it here and verifies the brokers against it.
CA_SECRET = f"{CLUSTER}-cluster-ca-cert"
CA_DIR = "/etc/recaudo/kafka-ca"
OPERATIONS_USER = f"{CLUSTER}-operations"


def user_of(service: str) -> str:
    """A service's KafkaUser: its SCRAM username, and the Secret Strimzi writes its password to (key password)."""
    return f"{CLUSTER}-{service}"


@dataclass(frozen=True)
class KafkaNeeds:
    """What one service does on Kafka: the topics it writes (its outbox's families), reads (its subscriptions)
    and dead-letters to (its subscriptions' DLQs), and the consumer groups it reads with."""

    produces: frozenset[str]
    consumes: frozenset[str]
    dead_letters: frozenset[str]
    groups: frozenset[str]
    group_prefixes: frozenset[str] = frozenset()
    watched_groups: frozenset[str] = frozenset()  # whose committed offsets it reads (ingest's bulk lane)
    watched_topics: frozenset[str] = frozenset()  # whose end offsets it reads, to count what those groups have left


def produced_families(service: str) -> set[str]:
    """The families of the events this service emits, as the event catalogue declares them."""
    return {cls.family for cls in REGISTRY.values() if service in cls.producer.split(", ")}


def kafka_needs(service: str, prefix: str) -> KafkaNeeds:
    from recaudo.services import BUILDERS
    from recaudo_common.runtime import make_platform
    from recaudo_common.settings import PlatformSettings
    from reporting.rebuild import REBUILD_GROUP_PREFIX

    platform = make_platform(PlatformSettings(database_url="postgresql+asyncpg://unused@127.0.0.1:1/unused"),
                             pool_size=1)
    subscriptions = BUILDERS[service](platform).subscriptions
    consumed = subscriptions.topics(prefix) if subscriptions else []
    # `recaudo reporting rebuild` replays reporting's topics with a group of its own each time.
    rebuild = {REBUILD_GROUP_PREFIX} if service == "reporting" else set()
    return KafkaNeeds(
        produces=frozenset(topic_name(prefix, f) for f in produced_families(service)),
        consumes=frozenset(consumed), dead_letters=frozenset(dlq_topic(t) for t in consumed),
        groups=frozenset(group_id(prefix, g.group_name) for g in subscriptions.by_group()) if subscriptions
        else frozenset(),
        group_prefixes=frozenset(rebuild),
        # Ingest paces large uploads on how far the account topic's readers are behind, and the contact topic's
        # (ingest.bulk_pace): its accounts make outreach record consents there.
        watched_groups=frozenset(group_id(prefix, r) for r in (*ACCOUNT_READERS, *CONTACT_READERS))
        if service == "ingest" else frozenset(),
        watched_topics=frozenset(topic_name(prefix, f) for f in ("account", "contact")) if service == "ingest"
        else frozenset())


def acls(needs: KafkaNeeds) -> list[dict[str, Any]]:
    """Strimzi v1 ACL rules for exactly these needs: Write and Describe on what it produces and dead-letters,
    Read and Describe on what it consumes, Read on its groups, Describe on the groups whose offsets it watches and
    on the topics they read. One rule per resource, operations sorted."""
    wanted: dict[tuple[str, str, str], set[str]] = {}
    for topic in needs.produces | needs.dead_letters:
        wanted.setdefault(("topic", topic, "literal"), set()).update({"Write", "Describe"})
    for topic in needs.consumes:
        wanted.setdefault(("topic", topic, "literal"), set()).update({"Read", "Describe"})
    for group in needs.groups:
        wanted.setdefault(("group", group, "literal"), set()).add("Read")
    for group in needs.group_prefixes:
        wanted.setdefault(("group", group, "prefix"), set()).add("Read")
    for group in needs.watched_groups:
        wanted.setdefault(("group", group, "literal"), set()).add("Describe")
    for topic in needs.watched_topics:
        wanted.setdefault(("topic", topic, "literal"), set()).add("Describe")
    return [{"resource": {"type": kind, "name": name, "patternType": pattern}, "operations": sorted(ops)}
            for (kind, name, pattern), ops in sorted(wanted.items())]


def topics(prefix: str) -> list[str]:
    families = sorted({cls.family for cls in REGISTRY.values()})
    return [t for f in families for t in (topic_name(prefix, f), dlq_topic(topic_name(prefix, f)))]


def _user(name: str, rules: list[dict[str, Any]], labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": STRIMZI_API, "kind": "KafkaUser",
            "metadata": {"name": name, "labels": {**labels, "app.kubernetes.io/name": name,
                                                  "app.kubernetes.io/component": "kafka",
                                                  "strimzi.io/cluster": CLUSTER}},
            "spec": {"authentication": {"type": "scram-sha-512"},
                     "authorization": {"type": "simple", "acls": rules}}}


def users(services: tuple[str, ...], prefix: str, labels: dict[str, str]) -> list[dict[str, Any]]:
    """A KafkaUser per service, and one for the operator's `recaudo dlq replay` (read a dead-letter topic, write
    its main topic back, with its replay groups), which no service's user may do."""
    out = [_user(user_of(s), acls(kafka_needs(s, prefix)), labels) for s in services]
    every = topics(prefix)
    replay = [{"resource": {"type": "topic", "name": t, "patternType": "literal"},
               "operations": ["Describe", "Read"] if t.endswith(".dlq") else ["Describe", "Write"]} for t in every]
    replay.append({"resource": {"type": "group", "name": DLQ_REPLAY_GROUP, "patternType": "prefix"},
                   "operations": ["Read"]})
    out.append(_user(OPERATIONS_USER, replay, labels))
    return out


def cluster(meta: dict[str, Any], labels: dict[str, str], prefix: str, partitions: int) -> list[dict[str, Any]]:
    """The Kafka cluster (three dual-role KRaft nodes), its topics and its users."""
    kafka = {"apiVersion": STRIMZI_API, "kind": "Kafka", "metadata": meta,
             "spec": {"kafka": {"version": "4.1.0", "metadataVersion": "4.1-IV1",
                                # One listener: TLS (the cluster CA signs the brokers' certificates) and SCRAM-SHA-512
                                # users; the simple authorizer gives each user its ACLs and nothing else.
                                "listeners": [{"name": "tls", "port": LISTENER_PORT, "type": "internal", "tls": True,
                                               "authentication": {"type": "scram-sha-512"}}],
                                "authorization": {"type": "simple"},
                                "config": {"offsets.topic.replication.factor": 3,
                                           "transaction.state.log.replication.factor": 3,
                                           "transaction.state.log.min.isr": 2, "default.replication.factor": 3,
                                           "min.insync.replicas": 2, "auto.create.topics.enable": False,
                                           # A group's offsets outlive a stop of 60 days (7 by default) and the
                                           # inboxes' retention (45): a group that lost them would read its topics
                                           # from the start and refuse (recaudo_common.bus.inbox_retention).
                                           "offsets.retention.minutes": 60 * 24 * 60}},
                      "entityOperator": {"topicOperator": {}, "userOperator": {}}}}
    pool = {"apiVersion": STRIMZI_API, "kind": "KafkaNodePool",
            "metadata": {"name": "dual-role", "labels": {**labels, "app.kubernetes.io/name": "dual-role",
                                                         "app.kubernetes.io/component": "kafka",
                                                         "strimzi.io/cluster": CLUSTER}},
            "spec": {"replicas": 3, "roles": ["controller", "broker"],
                     "storage": {"type": "jbod", "volumes": [{"id": 0, "type": "persistent-claim", "size": "100Gi",
                                                              "deleteClaim": False, "kraftMetadata": "shared"}]}}}
    out = [kafka, pool]
    for topic in topics(prefix):
        dead = topic.endswith(".dlq")
        name = topic.replace(".", "-")
        out.append({
            "apiVersion": STRIMZI_API, "kind": "KafkaTopic",
            "metadata": {"name": name, "labels": {**labels, "app.kubernetes.io/name": name,
                                                  "app.kubernetes.io/component": "kafka",
                                                  "strimzi.io/cluster": CLUSTER}},
            "spec": {"topicName": topic, "partitions": 1 if dead else partitions, "replicas": 3,
                     # Main topics keep everything: `recaudo reporting rebuild` replays them from the beginning.
                     # Dead letters are kept 30 days for `recaudo dlq replay`.
                     "config": {"retention.ms": 30 * 24 * 3600 * 1000 if dead else -1, "min.insync.replicas": 2,
                                "cleanup.policy": "delete"}}})
    return out


def client_config() -> dict[str, str]:
    """The settings every pod shares to reach the cluster; its own user and password come per service."""
    return {"RECAUDO_KAFKA_BOOTSTRAP": BOOTSTRAP, "RECAUDO_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "RECAUDO_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "RECAUDO_KAFKA_SSL_CAFILE": f"{CA_DIR}/ca.crt"}


def client_env(service: str) -> list[dict[str, Any]]:
    return [{"name": "RECAUDO_KAFKA_SASL_USERNAME", "value": user_of(service)},
            {"name": "RECAUDO_KAFKA_SASL_PASSWORD",
             "valueFrom": {"secretKeyRef": {"name": user_of(service), "key": "password"}}}]


CA_VOLUME = {"name": "kafka-ca", "secret": {"secretName": CA_SECRET, "items": [{"key": "ca.crt", "path": "ca.crt"}]}}
CA_MOUNT = {"name": "kafka-ca", "mountPath": CA_DIR, "readOnly": True}


def keda_auth(service: str, labels: dict[str, str]) -> dict[str, Any]:
    """KEDA's Kafka scaler reads the worker's group lag as the service's own user, over TLS."""
    name = f"recaudo-kafka-{service}"
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
            "metadata": {"name": name, "labels": {**labels, "app.kubernetes.io/name": name,
                                                  "app.kubernetes.io/component": service}},
            "spec": {"secretTargetRef": [{"parameter": "password", "name": user_of(service), "key": "password"},
                                         {"parameter": "ca", "name": CA_SECRET, "key": "ca.crt"}],
                     "env": [{"parameter": "username", "name": "RECAUDO_KAFKA_SASL_USERNAME",
                              "containerName": service}]}}
