"""The event envelope of MISSION §9 and the whole catalogue of versioned event types, one module per topic family.

Every event that crosses a topic is declared once, as a frozen pydantic model, in the module of its topic
family (`client`, `account`, `contact`, `promise`, `arrangement`, `payment`, `debtor`); `envelope` holds the
envelope, the base class and the registry. Producers and consumers import the models from this package;
`recaudo catalogue` generates docs/events.md from them. Importing the package registers every event type.
"""

from recaudo_common.events.account import (
    AccountContactRectified,
    AccountLegalHoldLifted,
    AccountLegalHoldSet,
    AccountPlaced,
    AccountPseudonymised,
    AccountRecalled,
    AccountSegmented,
    AccountSettled,
    AccountStated,
    AccountUpdated,
    LegalHold,
)
from recaudo_common.events.account_v1 import AccountPlacedV1, AccountStatedV1, AccountUpdatedV1
from recaudo_common.events.arrangement import (
    ArrangementBroken,
    ArrangementDeclined,
    ArrangementKept,
    ArrangementKind,
    ArrangementMade,
    ArrangementRequested,
    Instalment,
)
from recaudo_common.events.channels import CHANNELS, Channel
from recaudo_common.events.client import ClientRegistered, ClientSettings, ClientUpdated
from recaudo_common.events.contact import (
    ContactAttempted,
    ContactBlocked,
    ContactConsentRecorded,
    ContactDelivered,
    ContactFailed,
    ContactLogged,
    ContactOptedOut,
)
from recaudo_common.events.envelope import (
    REGISTRY,
    TOPIC_NAMES,
    Envelope,
    Event,
    UnknownEventError,
    decode,
    dlq_topic,
    family_of,
    new_event_id,
    register,
    topic_name,
)
from recaudo_common.events.payment import (
    PaymentApplied,
    PaymentReversed,
    PaymentReversedV2,
    PaymentSource,
    PaymentUnmatched,
)
from recaudo_common.events.privacy import (
    ERASING_SERVICES,
    DebtorErased,
    DebtorErasureConfirmed,
    DebtorErasureRequested,
    ErasingService,
    ErasureReason,
)
from recaudo_common.events.promise import PromiseBroken, PromiseCancelled, PromiseKept, PromiseMade

__all__ = [
    "CHANNELS",
    "ERASING_SERVICES",
    "REGISTRY",
    "TOPIC_NAMES",
    "AccountContactRectified",
    "AccountLegalHoldLifted",
    "AccountLegalHoldSet",
    "AccountPlaced",
    "AccountPlacedV1",
    "AccountPseudonymised",
    "AccountRecalled",
    "AccountSegmented",
    "AccountSettled",
    "AccountStated",
    "AccountStatedV1",
    "AccountUpdated",
    "AccountUpdatedV1",
    "ArrangementBroken",
    "ArrangementDeclined",
    "ArrangementKept",
    "ArrangementKind",
    "ArrangementMade",
    "ArrangementRequested",
    "Channel",
    "ClientRegistered",
    "ClientSettings",
    "ClientUpdated",
    "ContactAttempted",
    "ContactBlocked",
    "ContactConsentRecorded",
    "ContactDelivered",
    "ContactFailed",
    "ContactLogged",
    "ContactOptedOut",
    "DebtorErased",
    "DebtorErasureConfirmed",
    "DebtorErasureRequested",
    "Envelope",
    "ErasingService",
    "ErasureReason",
    "Event",
    "Instalment",
    "LegalHold",
    "PaymentApplied",
    "PaymentReversed",
    "PaymentReversedV2",
    "PaymentSource",
    "PaymentUnmatched",
    "PromiseBroken",
    "PromiseCancelled",
    "PromiseKept",
    "PromiseMade",
    "UnknownEventError",
    "decode",
    "dlq_topic",
    "family_of",
    "new_event_id",
    "register",
    "topic_name",
]
