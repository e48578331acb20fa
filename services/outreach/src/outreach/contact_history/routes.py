"""The contact history's route: an account's whole history as JSON, or its audit trail as a spreadsheet."""

import datetime as dt
import json
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from outreach.contact_history import handlers
from outreach.store import TrailEntry
from recaudo_common.auth import Principal
from recaudo_common.dependencies import PlatformDep, caller_for_client
from recaudo_common.exports import csv_style, csv_text
from recaudo_common.routing import AuthorisedFirstRoute


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    decided_at: dt.datetime
    allowed: bool
    reasons: list[str]
    next_allowed_at: dt.datetime | None
    local_time: str


class AttemptOut(BaseModel):
    """v1: one contact attempt and every compliance decision taken on it."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    channel: str
    status: str
    scheduled_at: dt.datetime
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None = None
    failed_at: dt.datetime | None = None
    failure: str | None = None
    cancel_reason: str | None
    created_at: dt.datetime
    provider: str | None = None
    template: str | None = None
    encoding: str | None = None
    segments: int | None = None
    decisions: list[DecisionOut]
    why: str | None = None  # why it was scheduled at its time, e.g. "best_time: martes 19h (tasa 0.31, n=420)"
    assigned_to: str | None = Field(None, description="an agent call: who /v1/agent/next handed it to "
                                                      "(`user <e-mail>` or `key <id>`)")
    assigned_at: dt.datetime | None = Field(None, description="an agent call: when it was handed out")


class LoggedContactOut(BaseModel):
    """v1: a contact an agent logged (`POST .../contacts`), with who started it."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    channel: str
    at: dt.datetime
    outcome: str | None
    rule_violations: list[str]
    # Added within v1 with the default every contact logged before it had: a reader that ignores it is unchanged.
    direction: Literal["outbound", "inbound"] = Field(
        "outbound", description="who started the contact: `outbound` the agency, `inbound` the debtor (they phoned "
                                "or wrote; judged by none of the limits, hours or days)")


class TrailEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: dt.datetime
    kind: str
    attempt_id: uuid.UUID | None
    channel: str | None
    detail: dict[str, Any]


class LegalHoldOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    hold: str
    note: str | None
    set_at: dt.datetime
    lifted_at: dt.datetime | None


_SMS = "a1d5c9e3-7f2b-4d6a-8c4e-2b9f7d1e5a36"  # the example's attempt


class ContactHistoryOut(BaseModel):
    """v1: an account's whole contact history: attempts with their decisions, contacts logged by agents, legal
    holds, and the append-only audit trail."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "account_ref": "CR-2024-000187",
        "items": [{
            "id": _SMS, "channel": "sms", "status": "delivered", "scheduled_at": "2026-11-25T09:00:00-05:00",
            "sent_at": "2026-11-25T09:00:04-05:00", "delivered_at": "2026-11-25T09:00:11-05:00", "failed_at": None,
            "failure": None, "cancel_reason": None, "created_at": "2026-11-24T06:05:40-05:00", "provider": "twilio",
            "template": "sms/es-CO", "encoding": "UCS-2", "segments": 3,
            "decisions": [{"decided_at": "2026-11-25T09:00:02-05:00", "allowed": True, "reasons": [],
                           "next_allowed_at": None, "local_time": "2026-11-25T09:00:02-05:00"}],
            "why": "best_time: miércoles 9h (tasa 0.27, n=380)", "assigned_to": None, "assigned_at": None}],
        "logged": [{"id": "5b2e9c71-0d4f-4a36-8e1b-7c9d2f6a3e48", "channel": "agent",
                    "at": "2026-12-03T10:42:00-05:00", "outcome": "promise_to_pay", "rule_violations": [],
                    "direction": "inbound"}],
        "legal_holds": [{"hold": "dispute",
                         "note": "El deudor reclama ante la Superintendencia Financiera (queja 2026-4471)",
                         "set_at": "2026-10-06T11:20:00-05:00", "lifted_at": "2026-10-20T15:05:12-05:00"}],
        "trail": [
            {"id": 90211, "at": "2026-11-24T06:05:40-05:00", "kind": "scheduled", "attempt_id": _SMS, "channel": "sms",
             "detail": {"treatment": "voicebot_and_agent", "sequence": 1, "scheduled_at": "2026-11-25T09:00:00-05:00",
                        "why": "best_time: miércoles 9h (tasa 0.27, n=380)"}},
            {"id": 90318, "at": "2026-11-25T09:00:02-05:00", "kind": "decision", "attempt_id": _SMS, "channel": "sms",
             "detail": {"allowed": True, "reasons": [], "local_time": "2026-11-25T09:00:02-05:00",
                        "next_allowed_at": None}},
            {"id": 90319, "at": "2026-11-25T09:00:02-05:00", "kind": "sending", "attempt_id": _SMS, "channel": "sms",
             "detail": {"provider": "twilio", "template": "sms/es-CO", "encoding": "UCS-2", "segments": 3}},
            {"id": 90327, "at": "2026-11-25T09:00:04-05:00", "kind": "sent", "attempt_id": _SMS, "channel": "sms",
             "detail": {"provider": "twilio", "provider_message_id": "SM3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e"}}]}]})

    account_ref: str
    items: list[AttemptOut]
    logged: list[LoggedContactOut]
    legal_holds: list[LegalHoldOut]
    trail: list[TrailEntryOut]


TRAIL_COLUMNS = ["id", "at", "kind", "channel", "attempt_id", "detail"]
TRAIL_COLUMNS_ES = ["id", "fecha", "tipo", "canal", "intento", "detalle"]


def trail_csv(slug: str, account_ref: str, trail: list[TrailEntry], locale: str | None) -> Response:
    """The audit trail as a spreadsheet in the client company's locale (Spanish headers, `;` and a BOM for es-*),
    every cell neutralised against formula injection."""
    style = csv_style(locale)
    rows = [[t.id, t.at.isoformat(), t.kind, t.channel or "", t.attempt_id or "",
             json.dumps(t.detail, ensure_ascii=False, sort_keys=True)] for t in trail]
    header = TRAIL_COLUMNS_ES if locale and locale.startswith("es-") else TRAIL_COLUMNS
    return Response(csv_text(header, rows, style), media_type="text/csv; charset=utf-8", headers={
        "content-disposition": f'attachment; filename="contacts-{slug}-{account_ref}.csv"'})


router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1", tags=["outreach"])
ClientCaller = Annotated[Principal, Depends(caller_for_client())]


@router.get("/clients/{slug}/accounts/{account_ref}/contacts", response_model=ContactHistoryOut,
            responses={200: {"content": {"text/csv": {}}}})
async def contacts(slug: str, account_ref: str, _caller: ClientCaller, platform: PlatformDep,
                   format: Literal["json", "csv"] = "json") -> ContactHistoryOut | Response:
    """The account's whole contact history; `format=csv` gives the audit trail as a spreadsheet."""
    found = await handlers.contact_history(platform.db, client=slug, account_ref=account_ref)
    if format == "csv":
        return trail_csv(slug, account_ref, found.trail, found.locale)
    return ContactHistoryOut(account_ref=account_ref,
                             items=[AttemptOut.model_validate(a) for a in found.attempts],
                             logged=[LoggedContactOut.model_validate(c) for c in found.logged],
                             legal_holds=[LegalHoldOut.model_validate(h) for h in found.legal_holds],
                             trail=[TrailEntryOut.model_validate(t) for t in found.trail])
