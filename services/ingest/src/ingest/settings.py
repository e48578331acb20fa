"""Settings of the ingest service (env prefix RECAUDO_INGEST_)."""

from pydantic import Field

from recaudo_common.identity_settings import IdentitySettings
from recaudo_common.settings import service_settings_config


class IngestSettings(IdentitySettings):  # ingest mounts identity: people sign in here (docs/console.md)
    model_config = service_settings_config("ingest")

    max_upload_bytes: int = 2 * 1024**3
    # A registration is answered once every service that keeps a copy of client companies holds the new one
    # (client.ready), waiting at most this long; those still missing are named in the answer (services_pending).
    client_ready_wait_s: float = Field(10.0, ge=0, le=60)
    # The services it waits for; unset: those that have confirmed an earlier client company (deploy/k8s names all).
    client_ready_services: list[str] | None = None
    # A recall list is a column of account references: a few MB at the most.
    max_recall_file_bytes: int = 16 * 1024**2
    upload_poll_s: float = 0.5
    # Uploads one worker processes at once, one per client company, their batches taking turns round the companies
    # (upload_worker): a small upload starts at once beside another company's large one. Each holds its spooled
    # copy on /tmp (the worker's volume is sized for this many: deploy/k8s) and the account references it has seen
    # (held by the upload's checking process, row_checking: 171 MiB of RSS at a million rows).
    max_uploads_in_progress: int = Field(4, ge=1, le=64)
    # The bulk lane (bulk_pace): past its first bulk_after_rows rows, an upload's next batch waits while a reader of
    # the account topic is more than bulk_backlog events behind (0: never), so another company's accounts and
    # payments wait behind at most that many. The readers are the services (consumer names) that read the topic:
    # set for the services served with ingest (`recaudo serve all`) and by deploy/k8s; unset, nothing waits.
    bulk_backlog: int = Field(1000, ge=0)
    bulk_after_rows: int = Field(5000, ge=0)
    bulk_readers: list[str] | None = None
    # And while a reader of the contact topic (the consumer groups named here: the services' contact lanes) has more
    # than bulk_contact_backlog of its events to read (0: never): outreach records each placed account's consents
    # there (one event) and its campaign sends more, so another company's contacts wait behind this many and the
    # consents of the accounts already published (up to about bulk_backlog + 2 * batch_rows), not a portfolio's.
    bulk_contact_backlog: int = Field(2000, ge=0)
    bulk_contact_readers: list[str] | None = None
    # The rows an upload writes per transaction. The bulk lane is looked at between batches (two in flight), so
    # another company's accounts wait behind up to bulk_backlog + 2 * batch_rows of a large upload's; fewer
    # rows make the lane tighter and the upload slower (a transaction, a turn and a pacing check per batch).
    batch_rows: int = Field(1000, ge=50, le=10_000)
    # Uploads per second for one API key and client company (0: no limit); uploads sent back to back, each
    # waiting for the last one's answer, stay well under it.
    # Uploads one API process receives at once (each keeps a copy on /tmp for its checks); more answer 503.
    max_concurrent_uploads: int = 2
    upload_rate_per_s: float = 10.0
    upload_burst: int = 100
    # An XLSX is a zip: refuse one that expands past this or compresses absurdly well (a zip bomb).
    max_xlsx_uncompressed_bytes: int = 4 * 1024**3
    max_xlsx_ratio: float = 200.0
    # An XLSX sheet's cells (as its dimension declares them, or present), its shared strings and its sheets.
    max_xlsx_cells: int = 50_000_000
    max_xlsx_shared_strings: int = 5_000_000
    max_xlsx_sheets: int = 256
    # A CSV record or JSON line longer than this ends its upload failed (it would be held whole to be parsed).
    max_line_chars: int = 1024 * 1024
    # An upload of this many bytes or more has its rows read and checked in a process of its own, on the other
    # core beside the worker that writes them (0: every upload); below it, in a thread of the worker's process.
    check_in_own_process_from_bytes: int = Field(8 * 1024**2, ge=0)
    # An upload started this many times in a row without getting further (each failing, or killing its worker)
    # is set aside as failed, so one poisonous file cannot crash-loop the worker.
    max_upload_attempts: int = 3
    # The raw cells of rejected rows and warnings, and the stored bytes of an upload never processed, are personal
    # data: kept this many days after the upload finished (was received), then blanked (deleted) by a daily-ish job.
    rejected_rows_retention_days: int = Field(90, ge=1)
    retention_poll_s: float = 3600.0
