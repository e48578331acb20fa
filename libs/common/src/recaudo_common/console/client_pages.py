"""What every console page of one client company checks first, in the same order: someone signed in (else the
sign-in page), a role that may read it (else a Spanish refusal, 403), and a client company they may see that this
service holds (else "no such client company", 404, as for one that does not exist)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from recaudo_common.auth import Principal, Role
from recaudo_common.client_copy import ClientCopy, get_client
from recaudo_common.console import page
from recaudo_common.console.visitor import Visitor, layout_of, to_sign_in, visitor
from recaudo_common.runtime import Platform

NO_SUCH_CLIENT = "No hay tal empresa cliente."


@dataclass(frozen=True)
class ClientReader:
    """The person on a client company's page, and the company as this service's copy holds it."""

    person: Visitor
    client: ClientCopy


def refusal(principal: Principal | None, heading: str, status: int, message: str) -> Response:
    """The console's shared refusal page, with the person's header as every page shows it."""
    return page("refused.html", heading=heading, status=status, message=message, layout=layout_of(principal))


async def client_reader(request: Request, platform: Platform, *, schema: str, slug: str, heading: str,
                        refused_role: str, roles: tuple[Role, ...] = ("operator", "client")
                        ) -> ClientReader | Response:
    """The person and the client company, or the answer to give instead (the sign-in, or a refusal)."""
    person = await visitor(request, platform)
    if person is None:
        return to_sign_in()
    principal = person.principal
    if not principal.has_role(*roles):
        return refusal(principal, heading, 403, refused_role)
    async with platform.db.transaction() as s:
        client = await get_client(s, schema, slug) if principal.can_see_client(slug) else None
    if client is None:
        return refusal(principal, heading, 404, NO_SUCH_CLIENT)
    return ClientReader(person, client)
