"""Paying for real from the debtor page (#21): which ways to pay a client company's gateway accounts offer (kept
from payments' payment.methods_available), and the signed checkout ticket a verified debtor's "Pagar" hands to
payments' `/checkout/{ticket}` in the browser's redirect (services never call each other)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.domain.confirmations import network_name
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.checkout_tickets import TICKET_TTL, CheckoutMethod, CheckoutTicket, make_ticket
from recaudo_common.db import sql
from recaudo_common.domain_errors import Invalid
from recaudo_common.events import PaymentMethodsAvailable


@dataclass(frozen=True)
class PaymentMethods:
    """What the client company's gateway accounts let the page offer: a hosted online checkout, cash vouchers at
    these networks. Neither: the page offers no real payment (the sandbox gateway, where it is on, stands in)."""

    online: bool = False
    cash_networks: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return self.online or bool(self.cash_networks)

    def offers(self, method: str) -> bool:
        return (method == "online" and self.online) or (method == "cash" and bool(self.cash_networks))


NONE = PaymentMethods()


async def record_methods(s: AsyncSession, client: str, event: PaymentMethodsAvailable) -> None:
    """The client company's methods as of the event; an older statement arriving late changes nothing."""
    await s.execute(sql(
        """INSERT INTO outreach.payment_methods AS m (client_slug, online, cash_networks, changed_at)
           VALUES (:c, :online, :cash, :at)
           ON CONFLICT (client_slug) DO UPDATE SET online = excluded.online, cash_networks = excluded.cash_networks,
               changed_at = excluded.changed_at
           WHERE m.changed_at <= excluded.changed_at"""),
        {"c": client, "online": event.online, "cash": list(dict.fromkeys(event.cash_networks)),
         "at": event.changed_at})


async def methods_of(s: AsyncSession, client: str) -> PaymentMethods:
    row = (await s.execute(sql("SELECT online, cash_networks FROM outreach.payment_methods WHERE client_slug = :c"),
                           {"c": client})).first()
    return NONE if row is None else PaymentMethods(bool(row[0]), tuple(row[1] or ()))


async def on_methods_available(event: PaymentMethodsAvailable, ctx: HandlerContext) -> None:
    await record_methods(ctx.session, ctx.envelope.client, event)


def networks_text(networks: tuple[str, ...]) -> str:
    """"Efecty, Baloto y OXXO": the networks as a Spanish list."""
    names = [network_name(n) for n in networks]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} y {names[-1]}"


def method_of(chosen_text: str, methods: PaymentMethods) -> CheckoutMethod:
    """The method the debtor chose ("online" when the form names none and the client offers it)."""
    chosen = chosen_text.strip() or ("online" if methods.online else "cash")
    if chosen == "online" and methods.online:
        return "online"
    if chosen == "cash" and methods.cash_networks:
        return "cash"
    raise Invalid("method_not_available", "ese medio de pago no está disponible para esta obligación",
                  title="Payment method not available")


def checkout_path(*, client: str, account_ref: str, link_token: str, amount: Decimal, currency: str,
                  method: CheckoutMethod, nonce: str, secret: str, now: dt.datetime) -> str:
    """Where the browser goes to pay: payments' checkout, on the same public host, with the signed ticket (the
    debtor's request: this account, this amount, this method, once per page nonce, for TICKET_TTL)."""
    ticket = make_ticket(CheckoutTicket(client=client, account_ref=account_ref, link_token=link_token,
                                        amount=amount, currency=currency, method=method, nonce=nonce,
                                        expires_at=now + TICKET_TTL), secret)
    return f"/checkout/{ticket}"
