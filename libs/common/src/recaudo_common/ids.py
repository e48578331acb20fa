"""The identifiers the platform draws for rows and events (time-ordered UUIDs, version 7), and the shapes of those
a caller names in a path (a client company's slug, a webhook's id): anything else is refused before it is looked
up, kept or counted."""

from __future__ import annotations

import re
from uuid import UUID

import uuid_utils.compat as uuid_compat


def time_ordered_id() -> UUID:
    """A UUIDv7: ids drawn later sort later, so a table keyed or indexed by them takes each new row at the end of
    the index, not on a random page of it (with random UUIDs, an upload of a million debtors wrote its people into
    random pages of indexes grown larger than memory: 10 % of its time, docs/scaling.md). It tells when it was
    drawn, to the millisecond, and nothing else: use it where the row's time is no secret."""
    return uuid_compat.uuid7()


# A client company's slug, as ingest accepts it when the company is registered.
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
# A webhook's id: what secrets.token_urlsafe issues.
WEBHOOK_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
