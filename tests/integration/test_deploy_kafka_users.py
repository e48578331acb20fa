"""Kafka on Kubernetes is TLS with a SCRAM user per service (#25): each KafkaUser's ACLs are exactly what that
service's code needs, found here from the code itself (the events each service's source builds, its subscriptions,
its consumer group), not from the generator's tables; and every pod is configured to use its own user."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from recaudo.deploy import SERVICES
from recaudo_common.events import REGISTRY, dlq_topic, topic_name
from recaudo_common.settings import PlatformSettings
from recaudo_common.testing import REPOSITORY_ROOT
from tests.integration.test_deploy import build, by_kind

pytestmark = pytest.mark.integration
Rule = tuple[str, str, str, frozenset[str]]  # resource type, name, pattern, operations


# Shared handlers a service wires, and the families of the events they build for it (in libs/common, so not in
# the service's own source): keeping a client copy says so with client.ready.
SHARED_BUILDERS = {"client_copy_handlers": {"client"}}


def events_built_by(service: str) -> set[str]:
    """The families of the events the service's source constructs (an event is built to go to the outbox: called, or
    validated from its fields), and of those the shared handlers it wires construct for it."""
    names = {cls.__name__: {cls.family} for cls in REGISTRY.values()} | SHARED_BUILDERS
    found: set[str] = set()
    for path in (REPOSITORY_ROOT / "services" / service / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                called = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                if called == "model_validate" and isinstance(node.func, ast.Attribute) \
                        and isinstance(node.func.value, ast.Name):
                    called = node.func.value.id  # AccountSegmentedV2.model_validate(...) builds one too
                if called in names:
                    found |= names[called]
    return found


def needed(service: str) -> set[Rule]:
    from recaudo.services import BUILDERS
    from recaudo_common.runtime import make_platform

    platform = make_platform(PlatformSettings(database_url="postgresql+asyncpg://u@127.0.0.1:1/x"), pool_size=1)
    subscriptions = BUILDERS[service](platform).subscriptions
    assert subscriptions is not None, service
    consumed = {topic_name("recaudo", f) for f in subscriptions.families()}
    produced = {topic_name("recaudo", f) for f in events_built_by(service)}
    ops: dict[tuple[str, str, str], set[str]] = {}
    for topic in produced | {dlq_topic(t) for t in consumed}:
        ops.setdefault(("topic", topic, "literal"), set()).update({"Write", "Describe"})
    for topic in consumed:
        ops.setdefault(("topic", topic, "literal"), set()).update({"Read", "Describe"})
    for group in subscriptions.by_group():  # reporting reads its payments in a group of their own (#24)
        ops[("group", f"recaudo.{group.group_name}", "literal")] = {"Read"}
    if service == "ingest":  # its bulk lane reads how far every reader of the account and contact topics is (#24)
        for watched in ("account", "contact"):
            ops.setdefault(("topic", topic_name("recaudo", watched), "literal"), set()).add("Describe")
            for other in SERVICES:
                theirs = BUILDERS[other](platform).subscriptions
                for group in theirs.by_group() if theirs is not None else []:
                    if watched in group.families():
                        ops[("group", f"recaudo.{group.group_name}", "literal")] = {"Describe"}
    if service == "reporting":  # `recaudo reporting rebuild`: a fresh group per run
        from reporting.rebuild import REBUILD_GROUP_PREFIX

        ops[("group", REBUILD_GROUP_PREFIX, "prefix")] = {"Read"}
    return {(kind, name, pattern, frozenset(o)) for (kind, name, pattern), o in ops.items()}


def granted(user: dict[str, Any]) -> set[Rule]:
    rules = user["spec"]["authorization"]["acls"]
    assert all(r.get("host", "*") == "*" for r in rules)
    out = {(r["resource"]["type"], r["resource"]["name"], r["resource"]["patternType"], frozenset(r["operations"]))
           for r in rules}
    assert len(out) == len(rules), "one rule per resource"
    return out


@pytest.fixture(scope="module")
def prod() -> list[dict[str, Any]]:
    return build("prod")


@pytest.mark.parametrize("service", SERVICES)
def test_each_services_kafka_user_may_do_exactly_what_its_code_does(prod: list[dict[str, Any]],
                                                                    service: str) -> None:
    [user] = [u for u in by_kind(prod, "KafkaUser") if u["metadata"]["name"] == f"recaudo-{service}"]
    assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
    assert granted(user) == needed(service)
    # The event catalogue's producers agree with the code (the generator reads them from there).
    assert events_built_by(service) == {cls.family for cls in REGISTRY.values()
                                        if service in cls.producer.split(", ")}


def test_no_user_may_create_alter_or_delete_and_only_operations_replays(prod: list[dict[str, Any]]) -> None:
    users = {u["metadata"]["name"]: granted(u) for u in by_kind(prod, "KafkaUser")}
    assert set(users) == {f"recaudo-{s}" for s in SERVICES} | {"recaudo-operations"}
    for name, rules in users.items():
        assert {op for *_, ops in rules for op in ops} <= {"Read", "Write", "Describe"}, name
        assert not [r for r in rules if r[0] == "cluster" or r[1] in ("*", "recaudo")], name
    replay = users["recaudo-operations"]
    assert ("group", "recaudo.dlq-replay.", "prefix", frozenset({"Read"})) in replay
    assert all(("Read" in ops) == name.endswith(".dlq") for kind, name, _, ops in replay if kind == "topic")


def test_the_cluster_takes_only_tls_with_scram_and_authorizes(prod: list[dict[str, Any]]) -> None:
    [kafka] = by_kind(prod, "Kafka")
    assert kafka["spec"]["kafka"]["listeners"] == [{"name": "tls", "port": 9093, "type": "internal", "tls": True,
                                                    "authentication": {"type": "scram-sha-512"}}]
    assert kafka["spec"]["kafka"]["authorization"] == {"type": "simple"}
    policies = [rule for p in by_kind(prod, "NetworkPolicy") for rule in p["spec"].get("egress", [])
                if any("strimzi.io/cluster" in str(to) for to in rule["to"])]
    assert [rule["ports"] for rule in policies] == [[{"port": 9093}]]


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_pod_reaches_kafka_as_its_own_user_over_tls(overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings a pod reads (the ConfigMap, then its env) give SASL_SSL with SCRAM-SHA-512, its service's
    user and password Secret, and the cluster CA mounted where RECAUDO_KAFKA_SSL_CAFILE says."""
    objects = build(overlay)
    [config] = [o for o in by_kind(objects, "ConfigMap") if o["metadata"]["name"].startswith("recaudo-config")]
    pods = [(d["metadata"]["name"], d["spec"]["template"]["spec"]) for d in by_kind(objects, "Deployment")]
    pods += [(j["metadata"]["name"], j["spec"]["template"]["spec"]) for j in by_kind(objects, "Job")]
    assert len(pods) == 2 * len(SERVICES) + 1
    for name, pod in pods:
        [container] = pod["containers"]
        service = "ingest" if name == "recaudo-migrate" else container["args"][1]
        env = {e["name"]: e for e in container["env"]}
        password = env["RECAUDO_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert password == {"name": f"recaudo-{service}", "key": "password"}  # Strimzi's Secret of the user
        for variable in list(__import__("os").environ):
            if variable.startswith("RECAUDO_"):
                monkeypatch.delenv(variable)
        for variable, value in {**config["data"], "RECAUDO_KAFKA_SASL_USERNAME": env[
                "RECAUDO_KAFKA_SASL_USERNAME"]["value"], "RECAUDO_KAFKA_SASL_PASSWORD": "from-the-secret"}.items():
            monkeypatch.setenv(variable, value)
        settings = PlatformSettings()
        assert (settings.transport, settings.kafka_security_protocol, settings.kafka_sasl_mechanism) == (
            "kafka", "SASL_SSL", "SCRAM-SHA-512")
        assert settings.kafka_sasl_username == f"recaudo-{service}"
        assert settings.kafka_bootstrap == "recaudo-kafka-bootstrap:9093"
        assert settings.kafka_ssl_cafile is not None
        [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == str(Path(settings.kafka_ssl_cafile).parent)]
        [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
        assert mount["readOnly"] and volume["secret"]["secretName"] == "recaudo-cluster-ca-cert"
        assert volume["secret"]["items"] == [{"key": "ca.crt", "path": Path(settings.kafka_ssl_cafile).name}]


def test_keda_reads_the_lag_as_the_workers_user_over_tls(prod: list[dict[str, Any]]) -> None:
    auths = {a["metadata"]["name"]: a["spec"] for a in by_kind(prod, "TriggerAuthentication")}
    scaled_objects = by_kind(prod, "ScaledObject")
    triggers = [(scaled, t) for scaled in scaled_objects for t in scaled["spec"]["triggers"] if t["type"] == "kafka"]
    # One a worker, and the lanes' groups (#24): reporting's payments and contacts, segmentation's contacts.
    assert len(triggers) == len(scaled_objects) + 3
    for scaled, trigger in triggers:
        service = scaled["metadata"]["labels"]["app.kubernetes.io/component"]
        assert trigger["metadata"]["sasl"] == "scram_sha512" and trigger["metadata"]["tls"] == "enable"
        assert trigger["metadata"]["bootstrapServers"] == "recaudo-kafka-bootstrap:9093"
        auth = auths[trigger["authenticationRef"]["name"]]
        assert {r["parameter"]: (r["name"], r["key"]) for r in auth["secretTargetRef"]} == {
            "password": (f"recaudo-{service}", "password"), "ca": ("recaudo-cluster-ca-cert", "ca.crt")}
        assert auth["env"] == [{"parameter": "username", "name": "RECAUDO_KAFKA_SASL_USERNAME",
                                "containerName": service}]
