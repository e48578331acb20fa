"""Ingest's one subscription: the debtor topic's erasures, requested (it erases its copies of the person and
confirms) and completed (it erases them again: a restored database), and access requests (it answers with what it
holds of the person, sealed with their key); and the client topic's client.ready (a service holds a new client
company: its registration may be answered); ingest is where portfolios enter the platform, it consumes nothing
else."""

import secrets
from functools import partial

from ingest.clients import readiness
from ingest.privacy import access
from ingest.privacy import handlers as privacy
from ingest.store import SCHEMA
from recaudo_common.bus.consumer import Subscriptions
from recaudo_common.events import ClientReady, DebtorAccessRequested, DebtorErased, DebtorErasureRequested
from recaudo_common.personal_data import MasterKeyring, Vault


def subscriptions(vault: Vault) -> Subscriptions:
    """Ingest's consumer, sealing an access request's answer with `vault` (main.build gives the process's one)."""
    return Subscriptions(
        consumer="ingest", schema=SCHEMA,
        handlers={DebtorErasureRequested: privacy.on_erasure_requested, DebtorErased: privacy.on_erased,
                  DebtorAccessRequested: partial(access.on_access_requested, vault=vault),
                  ClientReady: readiness.on_client_ready},
    )


# What ingest consumes, for readers of its wiring, never to run: its vault's master key is a throwaway of its own,
# so reading a person's key through it fails loudly. main.build runs subscriptions() with the platform's vault.
SUBSCRIPTIONS = subscriptions(Vault(MasterKeyring(secrets.token_bytes(32))))
