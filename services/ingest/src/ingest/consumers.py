"""Ingest's one subscription: the privacy topic's erasure requests, on which it erases its copies of the person
(ingest is where portfolios enter the platform; it consumes nothing else)."""

from ingest.privacy import handlers as privacy
from ingest.store import SCHEMA
from recaudo_common.bus.consumer import Subscriptions
from recaudo_common.events import DebtorErasureRequested

SUBSCRIPTIONS = Subscriptions(
    consumer="ingest", schema=SCHEMA,
    handlers={DebtorErasureRequested: privacy.on_erasure_requested},
)
