"""The console's client company settings page (#23) through outreach's real app and PostgreSQL with people signed
in: an operator or supervisor chooses a client company and gets its page, editable; a client company's person is
sent to its own, read only, and another's is not found; an agent or SRE gets a Spanish refusal; no session is sent to
sign in; the page's script comes from outreach itself."""

import re

import httpx
import pytest

from recaudo_common.auth import Role

from .conftest import Outreach, client_event
from .test_agent_desk_console import desk, person, text_of

pytestmark = pytest.mark.integration
__all__ = ["desk"]  # the fixture, imported for this module's tests


async def test_who_gets_which_settings_page(desk: tuple[Outreach, httpx.AsyncClient]) -> None:
    o, http = desk
    await o.deliver(client_event("otro"), client="otro")
    signed_out = await http.get("/console/settings/banco")
    assert (signed_out.status_code, signed_out.headers["location"]) == (303, "/console/sign-in")

    staff: tuple[tuple[str, Role], ...] = (("ana@agencia.co", "operator"), ("eva@agencia.co", "supervisor"))
    for email, role in staff:
        cookie = {"Cookie": (await person(o, email, role))[0]["Cookie"]}
        chosen = await http.get("/console/settings", headers=cookie)
        assert chosen.status_code == 200 and 'href="/console/settings/otro"' in chosen.text
        shown = await http.get("/console/settings/banco", headers=cookie)
        assert shown.status_code == 200, shown.text
        seen = text_of(shown.text)
        for section in ("General", "Reglas de contacto", "Costos por contacto", "Comisión de la agencia",
                        "Plantillas de mensajes", "Canales: WhatsApp Business", "Pasarelas de pago"):
            assert section in seen, section
        assert 'data-can-edit="true"' in shown.text and "Solo lectura" not in seen
        assert '<script src="/console/settings/settings.js">' in shown.text and "script-src" not in \
            shown.headers["content-security-policy"]

    client = {"Cookie": (await person(o, "luis@banco.co", "client", client="banco"))[0]["Cookie"]}
    own = await http.get("/console/settings", headers=client)
    assert (own.status_code, own.headers["location"]) == (303, "/console/settings/banco")
    read_only = await http.get("/console/settings/banco", headers=client)
    assert read_only.status_code == 200 and 'data-can-edit="false"' in read_only.text
    assert "Solo lectura" in text_of(read_only.text)
    other = await http.get("/console/settings/otro", headers=client)
    assert other.status_code == 404 and "No hay tal empresa cliente." in text_of(other.text)

    others: tuple[tuple[str, Role], ...] = (("raul@agencia.co", "agent"), ("sara@agencia.co", "sre"))
    for email, role in others:
        cookie = {"Cookie": (await person(o, email, role))[0]["Cookie"]}
        refused = await http.get("/console/settings/banco", headers=cookie)
        assert refused.status_code == 403 and "Su rol no permite ver los ajustes" in text_of(refused.text)
        assert (await http.get("/console/settings", headers=cookie)).status_code == 403

    script = await http.get("/console/settings/settings.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("application/javascript")
    assert re.search(r"X-CSRF-Token", script.text) and "innerHTML" not in script.text
