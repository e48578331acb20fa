"""The typed rows segmentation's store reads and writes, as its handlers and routes see them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from pydantic_core import to_json

from segmentation.domain.boosting import Card
from segmentation.domain.buckets import Bucket
from segmentation.domain.history import Indicators
from segmentation.domain.propensity import Model
from segmentation.domain.strategy import CostSource
from segmentation.schemas import StrategyIn


@dataclass(frozen=True)
class Scoring:
    """What the scoring batch last measured of an account from its history: the boosted model's probability and
    its top contributions (None and () while no boosted model is in use) and the four indicators."""

    model_version: str | None
    propensity: Decimal | None
    reasons: tuple[str, ...]
    indicators: Indicators


@dataclass(frozen=True)
class Account:
    """An account as segmentation keeps it: what its client company stated, and what has happened to it since."""

    client_slug: str
    account_ref: str
    balance: Decimal
    status: str
    days_past_due_at_as_of: int
    as_of: dt.date
    days_past_due_at_placement: int | None  # as the first file stated it
    contactable: bool
    held_since: dt.date | None  # an instalment plan holds its aging
    legal_hold: str | None
    product: str | None = None
    scoring: Scoring | None = None
    closed_on: dt.date | None = None  # the client company's day it closed (None while open, or closed before #0023)


@dataclass(frozen=True)
class StatedAccount:
    """An account as its client company's latest file (or update) states it."""

    client: str
    account_ref: str
    balance: Decimal
    days_past_due: int
    as_of: dt.date
    contactable: bool
    product: str | None = None


@dataclass(frozen=True)
class LatestPayment:
    """The ledger's word after an account's latest payment."""

    new_balance: Decimal
    account_status: str


@dataclass(frozen=True)
class Outcome:
    """A payment as the propensity model learns from it: what it left to pay and the account's status after it."""

    client: str
    account_ref: str
    paid_at: dt.datetime
    amount: Decimal
    new_balance: Decimal
    account_status: str


@dataclass(frozen=True)
class StoredAccount:
    """An account just stated, and the ledger's word after its latest payment if one arrived first."""

    account: Account
    paid: LatestPayment | None


@dataclass(frozen=True)
class AssignmentInputs:
    """What an assignment was made from, kept with it (the model's training reads balance and contactable)."""

    days_past_due: int
    balance: Decimal
    contactable: bool
    status: str
    today: dt.date
    value_tier: str
    arm: str
    strategy_version: int
    offer: str
    model_version: str

    def document(self) -> str:
        """The inputs as the assignment keeps them: a JSON object of the fields, a Decimal or a date as its text.
        The fields are all scalars, written by pydantic's serializer as json.dumps(dataclasses.asdict(...),
        default=str) wrote them, without asdict's deep copy of each value and the json module's slower encoder:
        they were a sixth of segmentation's CPU on a placement in the pipeline (#24)."""
        return to_json(vars(self)).decode()


@dataclass(frozen=True)
class AssignmentRow:
    """An account's new bucket, segment and treatment, with why, as recorded on it and in its history."""

    client: str
    account_ref: str
    trigger: str
    days_past_due: int
    bucket: str
    segment: str
    treatment: str
    propensity: Decimal
    cost_to_collect: Decimal
    inputs: AssignmentInputs
    why: str
    bucket_at_placement: str  # kept only by the account's first assignment


@dataclass(frozen=True)
class BucketSet:
    """A client company's own buckets of mora, with the version each replacement gets."""

    version: int
    buckets: tuple[Bucket, ...]


@dataclass(frozen=True)
class SegmentCount:
    """How many accounts, and how much balance, one bucket × segment × treatment × status holds."""

    bucket: str
    segment: str
    treatment: str
    status: str
    accounts: int
    balance: Decimal


@dataclass(frozen=True)
class StrategyVersion:
    """A strategy as a client company last PUT it (its document), and the version that made it current."""

    version: int
    document: StrategyIn


@dataclass(frozen=True)
class ClientSetup:
    """What a client company set (None or empty: the platform's default) and its latest propensity model."""

    buckets: tuple[Bucket, ...] | None
    strategy: StrategyVersion | None
    costs: dict[str, Decimal]  # only the channels it priced through segmentation's own /costs
    cost_table: dict[str, Decimal] | None  # the client company's own cost table (client.* events); None: not set
    model: Model | Card | None  # the model in use: a boosted model's card, or a logistic regression of before #22


@dataclass(frozen=True)
class ChannelCosts:
    """The cost of one contact on each channel in force for a client company, and where each comes from."""

    costs: dict[str, Decimal]
    sources: dict[str, CostSource]
