"""Ingest's one subscription: the debtor topic's erasures, requested (it erases its copies of the person and
confirms) and completed (it erases them again: a restored database), and the client topic's client.ready (a
service holds a new client company: its registration may be answered); ingest is where portfolios enter the
platform, it consumes nothing else."""

from ingest.clients import readiness
from ingest.privacy import handlers as privacy
from ingest.store import SCHEMA
from recaudo_common.bus.consumer import Subscriptions
from recaudo_common.events import ClientReady, DebtorErased, DebtorErasureRequested

SUBSCRIPTIONS = Subscriptions(
    consumer="ingest", schema=SCHEMA,
    handlers={DebtorErasureRequested: privacy.on_erasure_requested, DebtorErased: privacy.on_erased,
              ClientReady: readiness.on_client_ready},
)
