"""Receipts' route: providers' delivery receipts and debtors' replies, authenticated by each provider's own
signature (no API key)."""

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from outreach.edge import State
from outreach.providers import Receipt
from outreach.receipts import handlers
from recaudo_common.dependencies import PlatformDep
from recaudo_common.errors import ProblemError
from recaudo_common.webhook_signatures import signature_problem


class ReceiptsOut(BaseModel):
    applied: int
    duplicate: int
    unknown: int


class SandboxReceiptIn(BaseModel):
    """v1: what the sandbox provider reports: a status for a message, or a debtor's reply."""

    model_config = ConfigDict(extra="forbid")
    message_id: str = Field(min_length=1, max_length=200)
    status: Literal["delivered", "failed", "reply"]
    detail: str | None = Field(None, max_length=2000)
    reply_from: str | None = Field(None, max_length=320)
    channel: Literal["sms", "whatsapp", "email"] | None = None


router = APIRouter(prefix="/v1", tags=["outreach"])


@router.post("/webhooks/outreach/{provider}", response_model=ReceiptsOut,
             responses={401: {"description": "missing or wrong signature; nothing was applied"}})
async def receipts(provider: str, request: Request, platform: PlatformDep, state: State) -> ReceiptsOut:
    """Delivery receipts and replies from a provider, authenticated by the provider's signature."""
    raw = await request.body()
    now = platform.clock()
    providers, settings = state.providers, state.settings
    parsed: list[Receipt] | None
    if provider == "twilio" and providers.twilio is not None:
        form = {k: str(v) for k, v in (await request.form()).items()}
        # The URL Twilio called, query included: the signature covers it (and the attempt id it carries).
        query = request.url.query
        url = settings.public_url.rstrip("/") + f"/v1/webhooks/outreach/{provider}" + (f"?{query}" if query else "")
        parsed = providers.twilio.receipts(url, request.headers.get("x-twilio-signature"), form)
    elif provider == "sandbox" and providers.sandbox_on:  # in production a sandbox receipt could forge opt-outs
        if signature_problem(request.headers.get("recaudo-signature"), raw, [settings.sandbox_gateway_secret],
                             now=now):
            parsed = None
        else:
            try:
                body = SandboxReceiptIn.model_validate_json(raw)
            except ValueError as e:
                raise ProblemError(422, "invalid_receipt", "Invalid receipt", str(e)[:500]) from e
            parsed = [Receipt(body.message_id, body.status, body.detail, body.reply_from, body.channel)]
    else:
        raise ProblemError(401, "unknown_provider", "Webhook refused", f"no provider {provider!r} is configured")
    if parsed is None:
        raise ProblemError(401, "bad_signature", "Webhook refused", "the signature does not verify")
    counts = await handlers.apply_receipts(platform.db, provider, parsed, now=now)
    return ReceiptsOut(applied=counts.applied, duplicate=counts.duplicate, unknown=counts.unknown)
