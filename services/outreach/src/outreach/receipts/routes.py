"""Receipts' route: providers' delivery receipts and debtors' replies, authenticated by each provider's own
signature (no API key)."""

from fastapi import APIRouter, Request
from pydantic import BaseModel

from outreach.edge import State
from outreach.providers import Notification
from outreach.receipts import handlers
from recaudo_common.dependencies import PlatformDep
from recaudo_common.errors import ProblemError


class ReceiptsOut(BaseModel):
    applied: int
    duplicate: int
    unknown: int


router = APIRouter(prefix="/v1", tags=["outreach"])


@router.post("/webhooks/outreach/{provider}", response_model=ReceiptsOut,
             responses={401: {"description": "missing or wrong signature; nothing was applied"}})
async def receipts(provider: str, request: Request, platform: PlatformDep, state: State) -> ReceiptsOut:
    """Delivery receipts and replies from a provider, authenticated by the provider's signature."""
    raw = await request.body()
    now = platform.clock()
    notifying = state.providers.notifying(provider)
    if notifying is None:
        raise ProblemError(401, "unknown_provider", "Webhook refused", f"no provider {provider!r} is configured")
    # The URL the provider called, query included: a signature may cover it (Twilio's, and the attempt id in it).
    query = request.url.query
    url = state.settings.public_url.rstrip("/") + f"/v1/webhooks/outreach/{provider}" + (f"?{query}" if query else "")
    parsed = notifying.notified(Notification(url, request.headers, raw, now))
    if parsed is None:
        raise ProblemError(401, "bad_signature", "Webhook refused", "the signature does not verify")
    counts = await handlers.apply_receipts(platform.db, provider, parsed, now=now)
    return ReceiptsOut(applied=counts.applied, duplicate=counts.duplicate, unknown=counts.unknown)
