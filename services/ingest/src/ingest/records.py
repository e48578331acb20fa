"""The typed values ingest's store returns and its handlers and routes pass on: a client company, an upload and its
parameters, a placed account, a row's issue, a recall's outcome."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from recaudo_common.instalments import MAX_INSTALMENTS, MIN_INSTALMENTS
from recaudo_common.promises import DEFAULT_PROMISE_WINDOW_DAYS

UploadStatus = Literal["queued", "processing", "completed", "failed"]


@dataclass(frozen=True)
class ClientTerms:
    """A client company as an operator registers it (its settings, before it has a record)."""

    slug: str
    name: str
    country: str
    currency: str
    timezone: str
    locale: str
    default_authorised_channels: list[str]
    max_discount_pct: Decimal = Decimal("40")
    promise_window_days: int = DEFAULT_PROMISE_WINDOW_DAYS
    max_upload_bytes: int | None = None
    instalments_min: int = MIN_INSTALMENTS
    instalments_max: int = MAX_INSTALMENTS
    min_instalment_amount: Decimal = Decimal(0)
    cost_table: dict[str, Decimal] | None = None  # channel -> the cost of one contact (None: none set)
    write_off_rules: dict[str, int] | None = None  # after_days, min_days_past_due (None: no automatic write-off)


@dataclass(frozen=True, kw_only=True)
class ClientCompany(ClientTerms):
    """A client company as ingest keeps it (ingest.clients: the whole row, not a copy)."""

    created_at: dt.datetime


@dataclass(frozen=True)
class ClientChanges:
    """What an operator may change of what was set at creation (country and currency stay: accounts are placed in
    them); None leaves a setting as it is."""

    name: str | None = None
    timezone: str | None = None
    locale: str | None = None
    default_authorised_channels: list[str] | None = None
    promise_window_days: int | None = None


@dataclass(frozen=True)
class MappingProfile:
    """A client company's saved mapping: canonical field -> the column header of its files."""

    name: str
    mapping: dict[str, str]
    updated_at: dt.datetime


class UploadParams(BaseModel):
    """An upload's parameters, each checked at the door; kept with the upload (JSON), only those given."""

    model_config = ConfigDict(frozen=True)
    mapping: dict[str, str] | None = None
    mapping_profile: str | None = None
    locale: str | None = None
    as_of: dt.date | None = None
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None

    def with_profile(self, profile: MappingProfile | None) -> UploadParams:
        """These parameters with the saved profile's mapping under the upload's own (the upload's columns win)."""
        return self.model_copy(update={"mapping": {**(profile.mapping if profile else {}), **(self.mapping or {})}})


@dataclass
class Tally:
    """What became of an upload's rows so far, by outcome and by issue code."""

    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_with_warnings: int = 0
    by_code: Counter[str] = field(default_factory=Counter)

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.rows_total + other.rows_total, self.rows_accepted + other.rows_accepted,
                     self.rows_rejected + other.rows_rejected, self.rows_with_warnings + other.rows_with_warnings,
                     self.by_code + other.by_code)


@dataclass(frozen=True)
class UploadFailure:
    """Why an upload failed (its error_code, and its error_detail as the record keeps it): a file that cannot be a
    portfolio (with, for a mapping, the fields missing, the headers and the ambiguous columns), a file over its cap,
    or an upload set aside after `attempts` starts without progress (`error`: the last one's, None if it was killed)."""

    code: str
    detail: str
    missing: list[str] | None = None
    headers: list[str] | None = None
    ambiguous: dict[str, list[str]] | None = None
    attempts: int | None = None
    error: str | None = None

    def detail_json(self) -> str:
        mapping = {"missing": self.missing, "headers": self.headers, "ambiguous": self.ambiguous} \
            if self.missing is not None else {}
        set_aside = {"attempts": self.attempts, "error": self.error} if self.attempts is not None else {}
        return json.dumps({"detail": self.detail, **mapping, **set_aside})


@dataclass(frozen=True)
class Portfolio:
    """An upload (a portfolio file) and what became of its rows."""

    id: uuid.UUID
    client_slug: str
    status: UploadStatus
    filename: str | None
    size_bytes: int
    as_of: dt.date
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    rows_with_warnings: int
    counts_by_code: dict[str, int]
    progress: float
    error_code: str | None
    error_detail: dict[str, Any] | None  # an UploadFailure as kept: JSON, its keys by the kind of failure
    params: UploadParams
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    rows_done: int
    # A large upload waiting between batches (the bulk lane): the family of events whose readers it waits for
    # (account, contact), and since when.
    paused_for: str | None = None
    paused_since: dt.datetime | None = None

    def tally(self) -> Tally:
        return Tally(self.rows_total, self.rows_accepted, self.rows_rejected, self.rows_with_warnings,
                     Counter(self.counts_by_code))


@dataclass(frozen=True)
class Placement:
    """An account as the client company placed and last stated it."""

    account_ref: str
    status: Literal["active", "recalled"]
    balance: Decimal
    days_past_due: int
    as_of: dt.date
    placed_at: dt.datetime
    updated_at: dt.datetime
    recalled_at: dt.datetime | None
    placed_portfolio_id: uuid.UUID
    last_portfolio_id: uuid.UUID


@dataclass(frozen=True)
class RowIssue:
    """A row rejected, or accepted with a warning: where, why, and the row's cells as the file had them."""

    id: int
    row: int
    field: str
    code: str
    message: str
    raw: dict[str, str]
    raw_erased: Literal["request", "retention"] | None = None  # why the raw cells are gone (then `raw` is empty)
    # What `message` says besides the code, for a reader's own language (issue_labels.spanish_detail); empty for an
    # issue kept before they were (migration 0022).
    params: dict[str, str | int] = dataclasses.field(default_factory=dict)  # `field` is a column here


@dataclass(frozen=True)
class RecallOutcome:
    """What a recall did: the accounts it withdrew, those already withdrawn, the refs nobody placed."""

    id: uuid.UUID
    accounts_recalled: int
    already_recalled: int
    unknown_account_refs: list[str]
    requested_at: dt.datetime
