"""The CloudNativePG objects of deploy/k8s (`recaudo deploy k8s`): the PostgreSQL cluster and, in the `backups`
component, its continuous backup to object storage through the Barman Cloud plugin (WAL archiving and base
backups to an ObjectStore, a daily ScheduledBackup), from which a point in time is recovered (docs/deploy.md)."""

from __future__ import annotations

from typing import Any

from recaudo_common.postgres_logging import CSVLOG_SETTINGS
from recaudo_common.postgres_planner import PLANNER_SETTINGS

CLUSTER = "recaudo-db"
PLUGIN = "barman-cloud.cloudnative-pg.io"
OBJECT_STORE = "recaudo-backups"
# The operator's bucket and its credentials (a Secret with these keys, never committed); the example's bucket
# otherwise, as the public URL is the example's.
DESTINATION = "s3://recaudo-backups/recaudo-db"
CREDENTIALS_SECRET = "recaudo-backup-credentials"  # noqa: S105 - the Secret's name, not a secret
RETENTION = "30d"  # a point in time of the last 30 days can be recovered
SCHEDULE = "0 0 3 * * *"  # CloudNativePG's six-field cron (seconds first): every day at 03:00


def cluster(meta: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": meta,
            "spec": {"instances": 3, "imageName": "ghcr.io/cloudnative-pg/postgresql:18",
                     "storage": {"size": "100Gi"}, "walStorage": {"size": "20Gi"},
                     "bootstrap": {"initdb": {"database": "recaudo", "owner": "recaudo"}},
                     # CSVLOG_SETTINGS: the server's log keeps no personal data in the csvlog format CNPG forces
                     "postgresql": {"parameters": {"max_connections": "400", "shared_buffers": "1GB",
                                                   **PLANNER_SETTINGS, **CSVLOG_SETTINGS}},
                     "monitoring": {"enablePodMonitor": False}}}


def backups(labels: dict[str, str]) -> list[dict[str, Any]]:
    """The object store (WAL and base backups, compressed, encrypted at rest by S3, kept RETENTION)
    and the daily base backup; the Cluster archives its WAL there (cluster_plugins, a patch of the component)."""
    def meta(name: str) -> dict[str, Any]:
        return {"name": name, "labels": {**labels, "app.kubernetes.io/name": name,
                                         "app.kubernetes.io/component": "postgres"}}

    store = {"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore", "metadata": meta(OBJECT_STORE),
             "spec": {"configuration": {
                 "destinationPath": DESTINATION,
                 "s3Credentials": {"accessKeyId": {"name": CREDENTIALS_SECRET, "key": "ACCESS_KEY_ID"},
                                   "secretAccessKey": {"name": CREDENTIALS_SECRET, "key": "ACCESS_SECRET_KEY"}},
                 # The backups hold every debtor's sealed data and the vault's wrapped keys: S3 encrypts them at rest.
                 "wal": {"compression": "gzip", "encryption": "AES256"},
                 "data": {"compression": "gzip", "encryption": "AES256"}},
                 "retentionPolicy": RETENTION}}
    scheduled = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "ScheduledBackup", "metadata": meta(f"{CLUSTER}-daily"),
                 "spec": {"schedule": SCHEDULE, "immediate": True, "backupOwnerReference": "self",
                          "cluster": {"name": CLUSTER}, "method": "plugin",
                          "pluginConfiguration": {"name": PLUGIN}}}
    return [store, scheduled]


def cluster_plugins() -> list[dict[str, Any]]:
    """The Cluster's spec.plugins: the Barman Cloud plugin archives every WAL segment to the object store."""
    return [{"name": PLUGIN, "isWALArchiver": True, "parameters": {"barmanObjectName": OBJECT_STORE}}]
