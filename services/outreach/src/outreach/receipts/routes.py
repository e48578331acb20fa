"""Receipts' routes: providers' delivery receipts and debtors' replies, authenticated by each provider's own
signature (no API key); and Twilio's call keypad choices (TwiML in, TwiML out)."""

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict

from outreach.edge import State
from outreach.providers import Notification
from outreach.providers.twilio import attempt_in
from outreach.receipts import handlers, twilio_voice
from recaudo_common.dependencies import PlatformDep
from recaudo_common.errors import ProblemError
from recaudo_common.routing import AuthorisedFirstRoute


class ReceiptsOut(BaseModel):
    """v1: what became of a provider's notification: receipts and replies applied, seen before, or for no message
    sent here."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"applied": 3, "duplicate": 1, "unknown": 0}]})
    applied: int
    duplicate: int
    unknown: int


router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1", tags=["outreach"])


def called_url(request: Request, public_url: str) -> str:
    """The URL the provider called, query included, on our public base: a signature may cover it (Twilio's, and
    the attempt id in it)."""
    query = request.url.query
    return public_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")


@router.post("/webhooks/outreach/{provider}", response_model=ReceiptsOut,
             responses={401: {"description": "no such provider, or a missing or wrong signature (403 for Twilio, "
                                              "as its own validators answer); nothing was applied"}})
async def receipts(provider: str, request: Request, platform: PlatformDep, state: State) -> ReceiptsOut:
    """Delivery receipts and replies from a provider, authenticated by the provider's signature."""
    raw = await request.body()
    now = platform.clock()
    notifying = state.providers.notifying(provider)
    if notifying is None:
        raise ProblemError(401, "unknown_provider", "Webhook refused", f"no provider {provider!r} is configured")
    parsed = notifying.notified(Notification(called_url(request, state.settings.public_url), request.headers, raw, now))
    if parsed is None:
        raise ProblemError(getattr(notifying, "refused_status", 401), "bad_signature", "Webhook refused",
                           "the signature does not verify")
    counts = await handlers.apply_receipts(platform.db, provider, parsed, now=now)
    return ReceiptsOut(applied=counts.applied, duplicate=counts.duplicate, unknown=counts.unknown)


@router.post("/webhooks/outreach/twilio/voice/gather", response_class=Response,
             responses={200: {"content": {"application/xml": {}}, "description": "TwiML: what the call does next"},
                        401: {"description": "voice does not go through Twilio here"},
                        403: {"description": "missing or wrong X-Twilio-Signature; nothing was applied"}})
async def voice_choice(request: Request, platform: PlatformDep, state: State) -> Response:
    """The key a debtor pressed on a call (Twilio's <Gather> action: Digits): 1 sends the payment link by SMS,
    2 reaches an agent. Signed like every Twilio webhook."""
    raw = await request.body()
    now = platform.clock()
    twilio = state.providers.twilio
    if twilio is None or state.providers.for_channel("voice") is not twilio:
        raise ProblemError(401, "unknown_provider", "Webhook refused", "voice does not go through Twilio here")
    url = called_url(request, state.settings.public_url)
    form = twilio.verified_form(Notification(url, request.headers, raw, now))
    if form is None:
        raise ProblemError(403, "bad_signature", "Webhook refused", "the signature does not verify")
    fields = dict(form)
    answer = await twilio_voice.keypad_choice(platform.db, twilio, state.settings, attempt_id=attempt_in(url),
                                              call_sid=fields.get("CallSid", ""), digits=fields.get("Digits", ""),
                                              now=now)
    return Response(answer, media_type="application/xml")
