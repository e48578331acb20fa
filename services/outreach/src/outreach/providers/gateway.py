"""The debtor page's sandbox payment gateway: it moves no money, and notifies payments exactly as a real gateway
would, with a signed webhook over HTTP."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import httpx

from outreach.providers.base import SendError
from outreach.settings import OutreachSettings
from recaudo_common.webhook_signatures import sign


class SandboxGateway:
    """The debtor page's sandbox payment gateway: it moves no money, and notifies payments exactly as a real
    gateway would, with a signed webhook over HTTP."""

    def __init__(self, settings: OutreachSettings, http: httpx.AsyncClient | None = None) -> None:
        self.url = settings.sandbox_gateway_webhook_url or (
            settings.public_url.rstrip("/") + "/v1/webhooks/payments/sandbox")
        self.secret = settings.sandbox_gateway_secret
        self.enabled = settings.sandbox_gateway_on  # never in production: it moves no money
        self.http = http or httpx.AsyncClient(timeout=30)

    async def charge(self, *, payment_id: str, client: str, link_token: str, amount: Decimal, currency: str,
                     now: dt.datetime) -> str:
        if not self.enabled:
            raise SendError("no payment gateway is configured", transient=False)
        body = json.dumps({"type": "payment", "payment_id": payment_id, "client": client, "link_token": link_token,
                           "amount": str(amount), "currency": currency, "paid_at": now.isoformat(),
                           "method": "sandbox"}).encode()
        try:
            answer = await self.http.post(self.url, content=body, headers={
                "content-type": "application/json", "Recaudo-Signature": sign(body, self.secret, now)})
        except httpx.HTTPError as e:
            raise SendError(f"gateway could not reach payments: {type(e).__name__}", transient=True) from e
        if answer.status_code >= 400:
            raise SendError(f"payments refused the payment ({answer.status_code})", transient=False)
        return str(answer.json().get("status", "accepted"))
