"""The Kubernetes manifests under deploy/k8s, generated from the code (`recaudo deploy k8s`): the services, the
topics every event family needs (and their dead-letter topics) with a Kafka user per service, the Gateway API
routes from each service's OpenAPI, backups, and the settings each container reads. `make test` fails when the
committed files drift from it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from recaudo import deploy_gateway, deploy_kafka, deploy_postgres
from recaudo_common.events import ACCOUNT_READERS, CLIENT_COPY_KEEPERS, CONTACT_READERS

SERVICES = ("ingest", "segmentation", "outreach", "payments", "reporting")
PREFIX = "recaudo"
PARTITIONS = 6
IMAGE = "ghcr.io/recaudo/recaudo"
LABELS = {"app.kubernetes.io/part-of": "recaudo"}
# What each service's worker waits on: its consumer group's lag, plus work kept in PostgreSQL.
WORKER_BACKLOG = {
    "ingest": "SELECT count(*) FROM ingest.portfolios WHERE status IN ('queued', 'processing')",
    "outreach": "SELECT count(*) FROM outreach.attempts WHERE status = 'scheduled' AND scheduled_at <= now() "
                "AND channel <> 'agent'",
}
SECRET_ENV = {  # env var -> key in the Secret `recaudo-secrets` (created by the operator, never committed)
    "RECAUDO_DATABASE_URL": "database-url",
    "RECAUDO_LINK_SECRET": "link-secret",
    "RECAUDO_BOOTSTRAP_OPERATOR_KEY": "bootstrap-operator-key",
    "RECAUDO_VAULT_MASTER_KEY": "vault-master-key",
}
SERVICE_SECRET_ENV = {
    "payments": {"RECAUDO_PAYMENTS_WEBHOOK_SECRETS": "payments-webhook-secrets"},
    # The operator's own provider accounts: absent keys leave the setting empty, which production refuses by name.
    "outreach": {"RECAUDO_OUTREACH_SMTP_HOST": "smtp-host", "RECAUDO_OUTREACH_SMTP_USERNAME": "smtp-username",
                 "RECAUDO_OUTREACH_SMTP_PASSWORD": "smtp-password",
                 # DKIM on every e-mail once the operator adds these three (#20); without them, none.
                 "RECAUDO_OUTREACH_SMTP_DKIM_SELECTOR": "smtp-dkim-selector",
                 "RECAUDO_OUTREACH_SMTP_DKIM_DOMAIN": "smtp-dkim-domain",
                 "RECAUDO_OUTREACH_SMTP_DKIM_PRIVATE_KEY": "smtp-dkim-private-key",
                 "RECAUDO_OUTREACH_TWILIO_ACCOUNT_SID": "twilio-account-sid",
                 "RECAUDO_OUTREACH_TWILIO_AUTH_TOKEN": "twilio-auth-token",
                 "RECAUDO_OUTREACH_TWILIO_SMS_FROM": "twilio-sms-from",
                 "RECAUDO_OUTREACH_TWILIO_WHATSAPP_FROM": "twilio-whatsapp-from",
                 # Voice (#20): the caller id (the SMS number when absent) and the agents' line a debtor pressing
                 # 2 is put through to (when absent, an agent call is scheduled on the agent desk).
                 "RECAUDO_OUTREACH_TWILIO_VOICE_FROM": "twilio-voice-from",
                 "RECAUDO_OUTREACH_TWILIO_AGENT_NUMBER": "twilio-agent-number"},
}
# Production has no sandbox: SMS, WhatsApp and voice calls through Twilio (a client company on the WhatsApp Cloud API
# sends through its own number), e-mail through SMTP with STARTTLS, letters off (their attempts are blocked as
# channel_not_configured); `recaudo serve` refuses anything less.
PRODUCTION_PROVIDERS = {"sms": "twilio", "whatsapp": "twilio", "email": "smtp", "voice": "twilio", "letter": "off"}
CONFIG = {
    "RECAUDO_ENVIRONMENT": "production", "RECAUDO_TRANSPORT": "kafka",
    **deploy_kafka.client_config(), "RECAUDO_TOPIC_PREFIX": PREFIX,
    "RECAUDO_KAFKA_PARTITIONS": str(PARTITIONS), "RECAUDO_LOG_LEVEL": "INFO",
    "RECAUDO_OTLP_ENDPOINT": "http://otel-collector.observability:4318",
    # 1 in 10 of the traces that start here: exporting every one cost the payments API 0.22-0.33 ms of CPU a
    # payment over 0.63, 1 in 10 0.09-0.19 ms (docs/benchmarks.md, payment webhooks); a caller that samples its
    # request still gets it whole.
    "RECAUDO_TRACE_SAMPLE_RATIO": "0.1",
    "RECAUDO_PUBLIC_URL": "https://recaudo.example.com",
    "RECAUDO_SANDBOX_GATEWAY": "false", "RECAUDO_OUTREACH_PROVIDERS": json.dumps(PRODUCTION_PROVIDERS),
    "RECAUDO_OUTREACH_SMTP_STARTTLS": "true", "RECAUDO_OUTREACH_SMTP_PORT": "587",
    # Every service that keeps a copy of client companies runs here: a registration waits for all of them.
    "RECAUDO_INGEST_CLIENT_READY_SERVICES": json.dumps(list(CLIENT_COPY_KEEPERS)),
    # and every reader of the account topic: a large upload's batches wait while one is far behind (bulk lane).
    "RECAUDO_INGEST_BULK_READERS": json.dumps(list(ACCOUNT_READERS)),
    # and every contact lane: outreach records consents for each account it reads, on the contact topic.
    "RECAUDO_INGEST_BULK_CONTACT_READERS": json.dumps(list(CONTACT_READERS)),
}

# Outreach's bounce receiver (#20), in the overlays that include components/bounce-receiver (prod does): the SMTP
# server outreach's workers run for the envelope sender's address, on an unprivileged port in the pod and 25 at a
# LoadBalancer Service, where the bounce domain's MX points. The address is the example domain's, as the public
# URL is: the operator's own goes in the overlay.
BOUNCE_PORT = 2525
BOUNCE_CONFIG = {"RECAUDO_OUTREACH_SMTP_BOUNCE_HOST": "0.0.0.0",  # the pod's interface, behind a Service
                 "RECAUDO_OUTREACH_SMTP_BOUNCE_PORT": str(BOUNCE_PORT),
                 "RECAUDO_OUTREACH_SMTP_BOUNCE_ADDRESSES": json.dumps(["bounces@recaudo.example.com"])}


def topics() -> list[str]:
    return deploy_kafka.topics(PREFIX)


def routing_table() -> list[tuple[str, str]]:
    """(path regex, service) for every path of every service's OpenAPI, plus its pages: what the Gateway's
    HTTPRoutes route, as one table (the chaos test's client routes with it)."""
    from recaudo.services import openapi_of

    rules: list[tuple[str, str]] = []
    for name in SERVICES:
        for path in sorted(openapi_of(name)["paths"]):
            if path.startswith("/v1/"):
                rules.append((deploy_gateway.route_regex(path), name))
    rules += [(f"^{re.escape(page)}(/.*)?$", name) for name, pages in deploy_gateway.PAGES.items() for page in pages]
    return rules


def _meta(name: str, component: str | None = None, **extra: Any) -> dict[str, Any]:
    labels = {**LABELS, "app.kubernetes.io/name": name}
    if component:
        labels["app.kubernetes.io/component"] = component
    return {"name": name, "labels": labels, **extra}


SECURITY = {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}}


def _container(service: str, role: str) -> dict[str, Any]:
    secrets = {**SECRET_ENV, **SERVICE_SECRET_ENV.get(service, {})}
    args = ["serve", service, "--role", role, "--host", "0.0.0.0", "--port", "8000", "--no-migrate"]
    return {
        "name": service, "image": f"{IMAGE}:latest", "args": args,
        "ports": [{"name": "http", "containerPort": 8000}],
        "envFrom": [{"configMapRef": {"name": "recaudo-config"}}],
        "env": [*({"name": k, "valueFrom": {"secretKeyRef": {"name": "recaudo-secrets", "key": v,
                                                              "optional": k not in SECRET_ENV}}}
                  for k, v in secrets.items()),
                *deploy_kafka.client_env(service)],  # its own Kafka user
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10,
                          "failureThreshold": 6, "initialDelaySeconds": 10},
        # The server stops taking requests and drains its consumers on SIGTERM; the short sleep lets the
        # endpoints controller take the pod out of the Service before that.
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
        "resources": _resources(service, role),
        "securityContext": SECURITY,
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - the pod's own emptyDir
                         deploy_kafka.CA_MOUNT],
    }


def _resources(service: str, role: str) -> dict[str, dict[str, str]]:
    if role == "api":
        return {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "768Mi"}}
    if service == "ingest":
        # A large upload's rows are read and checked in a process of its own beside the worker's (#24,
        # ingest.row_checking): a core for each, and room for up to max_uploads_in_progress such processes, each
        # holding the account references its upload has seen (about 170 MiB at a million rows).
        return {"requests": {"cpu": "200m", "memory": "384Mi"}, "limits": {"cpu": "2", "memory": "1536Mi"}}
    return {"requests": {"cpu": "200m", "memory": "384Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def _tmp_size(service: str, role: str) -> str:
    """The temporary volume holds, for ingest, one copy of each upload being received (the API: at most
    max_concurrent_uploads of at most max_upload_bytes) or processed (the worker: at most max_uploads_in_progress),
    so the caps and the volume agree."""
    if service != "ingest":
        return "256Mi"
    from ingest.settings import IngestSettings

    defaults = IngestSettings.model_fields
    held = "max_concurrent_uploads" if role == "api" else "max_uploads_in_progress"
    copies = max(int(defaults[held].default), 1)
    mib = copies * int(defaults["max_upload_bytes"].default) // 1024**2 + 256
    return f"{mib}Mi"


def _deployment(service: str, role: str) -> dict[str, Any]:
    name = f"recaudo-{service}-{role}"
    selector = {"app.kubernetes.io/name": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name, service),
        "spec": {
            "replicas": 2 if role == "api" else 1,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": {**LABELS, **selector, "app.kubernetes.io/component": service,
                                        "recaudo.io/role": role},
                             "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8000",
                                             "prometheus.io/path": "/metrics"}},
                "spec": {
                    "serviceAccountName": f"recaudo-{service}", "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 30 if role == "api" else 60,
                    "securityContext": {"runAsNonRoot": True, "fsGroup": 10001,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [_container(service, role)],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": _tmp_size(service, role)}},
                                deploy_kafka.CA_VOLUME],
                },
            },
        },
    }


def _service_objects(service: str) -> list[dict[str, Any]]:
    api = f"recaudo-{service}-api"
    worker = f"recaudo-{service}-worker"
    # Every service consumes (ingest since #19: the erasure requests), so every worker scales on the lag of each
    # of its consumer groups (reporting has two: its payments read apart, #24).
    triggers: list[dict[str, Any]] = [{"type": "kafka", "metadata": {
        "bootstrapServers": CONFIG["RECAUDO_KAFKA_BOOTSTRAP"], "consumerGroup": group,
        "lagThreshold": "1000", "offsetResetPolicy": "earliest", "sasl": "scram_sha512", "tls": "enable"},
        "authenticationRef": {"name": f"recaudo-kafka-{service}"}}
        for group in sorted(deploy_kafka.kafka_needs(service, PREFIX).groups)]
    if service in WORKER_BACKLOG:
        triggers.append({"type": "postgresql", "metadata": {
            "query": WORKER_BACKLOG[service], "targetQueryValue": "500" if service == "outreach" else "1"},
            "authenticationRef": {"name": "recaudo-postgres"}})
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(f"recaudo-{service}", service),
         "automountServiceAccountToken": False},
        _deployment(service, "api"),
        _deployment(service, "worker"),
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta(f"recaudo-{service}", service),
         "spec": {"selector": {"app.kubernetes.io/name": api},
                  "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": _meta(api, service),
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": api},
                  "minReplicas": 2, "maxReplicas": 6,
                  "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                      "type": "Utilization", "averageUtilization": 70}}}]}},
        deploy_kafka.keda_auth(service, LABELS),
        {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": _meta(worker, service),
         "spec": {"scaleTargetRef": {"name": worker}, "minReplicaCount": 1, "maxReplicaCount": PARTITIONS,
                  "pollingInterval": 15, "cooldownPeriod": 300, "triggers": triggers}},
    ]


def _gateway() -> list[dict[str, Any]]:
    from recaudo.services import openapi_of

    routes = [r for name in SERVICES for r in deploy_gateway.service_routes(name, openapi_of(name), LABELS)]
    return [*deploy_gateway.gateway(LABELS), *routes]


def _migrate_job() -> dict[str, Any]:
    container = {k: v for k, v in _container("ingest", "api").items()
                 if k not in ("ports", "readinessProbe", "livenessProbe", "lifecycle")}
    container.update({"name": "migrate", "args": ["migrate"]})
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": _meta("recaudo-migrate", "migrate"),
            "spec": {"backoffLimit": 3, "ttlSecondsAfterFinished": 86400, "template": {
                "metadata": {"labels": {**LABELS, "app.kubernetes.io/name": "recaudo-migrate"}},
                "spec": {"restartPolicy": "OnFailure", "serviceAccountName": "recaudo-ingest",
                         "automountServiceAccountToken": False,
                         "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                         "containers": [container],
                         "volumes": [{"name": "tmp", "emptyDir": {}}, deploy_kafka.CA_VOLUME]}}}}


def _network_policies() -> list[dict[str, Any]]:
    recaudo = {"matchLabels": LABELS}
    dns = {"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
           "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
    return [
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta("recaudo-default-deny"),
         "spec": {"podSelector": recaudo, "policyTypes": ["Ingress", "Egress"]}},
        # The APIs take requests from the Gateway's own pods only, in whichever namespace its implementation runs.
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta("recaudo-api-from-gateway"),
         "spec": {"podSelector": {"matchLabels": {"recaudo.io/role": "api"}}, "policyTypes": ["Ingress"],
                  "ingress": [{"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {
                      deploy_gateway.GATEWAY_POD_LABEL: deploy_gateway.GATEWAY}}}], "ports": [{"port": 8000}]}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta("recaudo-scrape"),
         "spec": {"podSelector": recaudo, "policyTypes": ["Ingress"],
                  "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                      "kubernetes.io/metadata.name": "monitoring"}}}], "ports": [{"port": 8000}]}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta("recaudo-egress"),
         "spec": {"podSelector": recaudo, "policyTypes": ["Egress"], "egress": [
             dns,
             {"to": [{"podSelector": {"matchLabels": {"strimzi.io/cluster": deploy_kafka.CLUSTER}}}],
              "ports": [{"port": deploy_kafka.LISTENER_PORT}]},
             {"to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": "recaudo-db"}}}], "ports": [{"port": 5432}]},
             {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "observability"}}}],
              "ports": [{"port": 4318}]}]}},
        # Outreach alone talks to the outside: its providers (SMTP submission, HTTPS APIs).
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta("recaudo-outreach-providers"),
         "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/component": "outreach"}},
                  "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [
                      "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}], "ports": [
                      {"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 587}]}]}},
    ]


def _bounce_receiver() -> list[dict[str, Any]]:
    """The bounce receiver's Service (SMTP on 25, to the outreach workers' port) and the one ingress it needs:
    mail servers anywhere deliver their delivery status notifications to it."""
    worker = {"app.kubernetes.io/name": "recaudo-outreach-worker"}
    return [
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta("recaudo-outreach-bounces", "outreach"),
         "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "selector": worker,
                  "ports": [{"name": "smtp", "protocol": "TCP", "port": 25, "targetPort": "smtp-bounces"}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta("recaudo-outreach-bounces"),
         "spec": {"podSelector": {"matchLabels": worker}, "policyTypes": ["Ingress"],
                  "ingress": [{"ports": [{"protocol": "TCP", "port": BOUNCE_PORT}]}]}},
    ]


def _pdbs() -> list[dict[str, Any]]:
    out = []
    for service in SERVICES:
        for role, budget in (("api", {"minAvailable": 1}), ("worker", {"maxUnavailable": 1})):
            name = f"recaudo-{service}-{role}"
            out.append({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(name, service),
                        "spec": {**budget, "selector": {"matchLabels": {"app.kubernetes.io/name": name}}}})
    return out


def _observability(root: Path) -> list[dict[str, Any]]:
    rules = (root / "deploy" / "prometheus" / "alerts.yml").read_text()
    # every dashboard of deploy/grafana (one per service, the business one, the overview): Grafana's sidecar loads
    # each key of a ConfigMap labelled grafana_dashboard as a dashboard
    dashboards = {p.name: p.read_text() for p in sorted((root / "deploy" / "grafana" / "dashboards").glob("*.json"))}
    return [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": _meta("recaudo-prometheus-rules", "observability",
                           labels={**LABELS, "app.kubernetes.io/name": "recaudo-prometheus-rules",
                                   "prometheus_rule": "1"}), "data": {"recaudo-alerts.yml": rules}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": _meta("recaudo-grafana-dashboards", "observability",
                           labels={**LABELS, "app.kubernetes.io/name": "recaudo-grafana-dashboards",
                                   "grafana_dashboard": "1"}), "data": dashboards},
    ]


def _dump(objects: list[dict[str, Any]]) -> str:
    return "---\n".join(yaml.safe_dump(o, sort_keys=False, width=120, allow_unicode=True) for o in objects)


def _kustomization(**fields: Any) -> str:
    return yaml.safe_dump({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", **fields},
                          sort_keys=False, width=120)


def _component(**fields: Any) -> str:
    return yaml.safe_dump({"apiVersion": "kustomize.config.k8s.io/v1alpha1", "kind": "Component", **fields},
                          sort_keys=False, width=120)


HEADER = "# Generated by `recaudo deploy k8s` from the code; edit the generator (libs/cli/src/recaudo/deploy.py).\n"


def render(root: Path) -> dict[str, str]:
    """Every file of deploy/k8s (except README.md), path -> content."""
    files: dict[str, str] = {}
    for service in SERVICES:
        files[f"base/{service}/{service}.yaml"] = HEADER + _dump(_service_objects(service))
        files[f"base/{service}/kustomization.yaml"] = HEADER + _kustomization(resources=[f"{service}.yaml"])
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("recaudo-config"), "data": CONFIG}
    keda_auth = {"apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
                 "metadata": _meta("recaudo-postgres"),
                 "spec": {"secretTargetRef": [{"parameter": "connection", "name": "recaudo-secrets",
                                               "key": "keda-postgres-connection"}]}}
    files["base/platform.yaml"] = HEADER + _dump([config, keda_auth, _migrate_job()])
    files["base/gateway.yaml"] = HEADER + _dump(_gateway())
    files["base/kafka.yaml"] = HEADER + _dump([
        *deploy_kafka.cluster(_meta(deploy_kafka.CLUSTER, "kafka"), LABELS, PREFIX, PARTITIONS),
        *deploy_kafka.users(SERVICES, PREFIX, LABELS)])
    files["base/postgres.yaml"] = HEADER + _dump([deploy_postgres.cluster(_meta(deploy_postgres.CLUSTER, "postgres"))])
    files["base/kustomization.yaml"] = HEADER + _kustomization(
        labels=[{"pairs": {"app.kubernetes.io/instance": "recaudo"}, "includeSelectors": False}],
        resources=["platform.yaml", "gateway.yaml", "kafka.yaml", "postgres.yaml", *(f"{s}/" for s in SERVICES)])
    files["components/network-policies/policies.yaml"] = HEADER + _dump(_network_policies())
    files["components/network-policies/kustomization.yaml"] = HEADER + _component(resources=["policies.yaml"])
    files["components/pdb/pdb.yaml"] = HEADER + _dump(_pdbs())
    files["components/pdb/kustomization.yaml"] = HEADER + _component(resources=["pdb.yaml"])
    files["components/bounce-receiver/bounce-receiver.yaml"] = HEADER + _dump(_bounce_receiver())
    files["components/bounce-receiver/kustomization.yaml"] = HEADER + _component(
        resources=["bounce-receiver.yaml"],
        configMapGenerator=[{"name": "recaudo-config", "behavior": "merge",
                             "literals": [f"{k}={v}" for k, v in BOUNCE_CONFIG.items()]}],
        patches=[{"target": {"kind": "Deployment", "name": "recaudo-outreach-worker"}, "patch": json.dumps([{
            "op": "add", "path": "/spec/template/spec/containers/0/ports/-",
            "value": {"name": "smtp-bounces", "containerPort": BOUNCE_PORT, "protocol": "TCP"}}])}])
    files["components/backups/backups.yaml"] = HEADER + _dump(deploy_postgres.backups(LABELS))
    files["components/backups/kustomization.yaml"] = HEADER + _component(
        resources=["backups.yaml"],
        patches=[{"target": {"kind": "Cluster", "name": deploy_postgres.CLUSTER}, "patch": json.dumps([{
            "op": "add", "path": "/spec/plugins", "value": deploy_postgres.cluster_plugins()}])}])
    files["components/observability/observability.yaml"] = HEADER + _dump(_observability(root))
    files["components/observability/kustomization.yaml"] = HEADER + _component(resources=["observability.yaml"])
    small = [{"op": "replace", "path": "/spec/minReplicas", "value": 1}]
    files["overlays/dev/kustomization.yaml"] = HEADER + _kustomization(
        namespace="recaudo-dev", resources=["../../base"], components=["../../components/observability"],
        images=[{"name": IMAGE, "newTag": "dev"}],
        configMapGenerator=[{"name": "recaudo-config", "behavior": "merge", "literals": [
            "RECAUDO_ENVIRONMENT=development", "RECAUDO_LOG_LEVEL=DEBUG",
            "RECAUDO_PUBLIC_URL=https://recaudo-dev.example.com", "RECAUDO_SANDBOX_GATEWAY=true",
            "RECAUDO_OUTREACH_PROVIDERS=" + json.dumps(dict.fromkeys(PRODUCTION_PROVIDERS, "sandbox"))]}],
        patches=[
            {"target": {"kind": "HorizontalPodAutoscaler"}, "patch": json.dumps(small)},
            {"target": {"kind": "Deployment", "labelSelector": "recaudo.io/role=api"},
             "patch": json.dumps([{"op": "replace", "path": "/spec/replicas", "value": 1}])},
            {"target": {"kind": "KafkaNodePool"},
             "patch": json.dumps([{"op": "replace", "path": "/spec/replicas", "value": 1}])},
            {"target": {"kind": "Kafka"}, "patch": json.dumps([{
                "op": "replace", "path": "/spec/kafka/config", "value": {
                "offsets.topic.replication.factor": 1, "transaction.state.log.replication.factor": 1,
                "transaction.state.log.min.isr": 1, "default.replication.factor": 1, "min.insync.replicas": 1,
                "auto.create.topics.enable": False}}])},
            {"target": {"kind": "KafkaTopic"}, "patch": json.dumps([
                {"op": "replace", "path": "/spec/replicas", "value": 1},
                {"op": "replace", "path": "/spec/config/min.insync.replicas", "value": 1}])},
            {"target": {"kind": "Cluster"}, "patch": json.dumps([{"op": "replace", "path": "/spec/instances",
                                                                   "value": 1}])},
        ])
    files["overlays/prod/kustomization.yaml"] = HEADER + _kustomization(
        namespace="recaudo", resources=["../../base"],
        components=["../../components/network-policies", "../../components/pdb", "../../components/observability",
                    "../../components/bounce-receiver", "../../components/backups"],
        images=[{"name": IMAGE, "newTag": "1.0.0"}])
    return files


def write(root: Path) -> list[str]:
    out = root / "deploy" / "k8s"
    written = []
    for rel, content in render(root).items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(rel)
    return written
