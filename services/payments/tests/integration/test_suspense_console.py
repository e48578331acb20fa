"""The console's payments page (#23), through payments' real app and PostgreSQL with a person signed in: the
suspense queue as a table (when, how much in the client company's locale, what reference came, from where, why),
the assignment an operator's page makes through the API with the session and its CSRF token, and what a client
company's own person, another role, another company's person and a stranger get."""

import datetime as dt
import re

import pytest

from recaudo_common.auth import Role
from recaudo_common.events import ClientRegistered
from recaudo_common.people import UserStore
from recaudo_common.runtime import Platform
from recaudo_common.sessions import SessionRules, csrf_token

from .conftest import NOW, Gateway, deliver, payment, placed

pytestmark = pytest.mark.integration
RULES = SessionRules(dt.timedelta(hours=12), dt.timedelta(minutes=30))


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


async def signed_in(platform: Platform, email: str, role: Role, client: str | None = None) -> dict[str, str]:
    """The headers of a browser signed in as a new user: its session cookie and the page's CSRF token."""
    user = await UserStore(platform.db).create(email=email, role=role, client_slug=client, password_hash=None,
                                               totp_secret=None, by="test", now=NOW)
    token = await platform.auth.sessions.open(user_id=user.id, by="password", rules=RULES, now=NOW)
    return {"Cookie": f"recaudo_session={token}", "X-CSRF-Token": csrf_token(token)}


async def test_an_operator_sees_the_queue_and_assigns_a_payment_as_the_page_does(gateway: Gateway) -> None:
    http = gateway.http
    await gateway.send(payment("gw-77", ref="NO-EXISTE", amount="1234567.89"))
    await gateway.manual("manual-console-1", {"account_ref": "OTRA-1", "amount": "25000.00", "method": "cash",
                                              "paid_at": "2026-03-31T09:00:00-05:00", "reference": "recibo 0042"})
    ana = await signed_in(gateway.platform, "ana@agencia.co", "operator")

    chooser = text_of((await http.get("/console/payments", headers={"Cookie": ana["Cookie"]})).text)
    assert "Empresa cliente Pagos sin asignar Banco 2" in chooser  # where the console's first page leads
    shown = await http.get("/console/payments/banco", headers={"Cookie": ana["Cookie"]})
    assert shown.status_code == 200 and shown.headers["content-type"].startswith("text/html")
    assert "script-src" not in shown.headers["content-security-policy"]  # default-src 'self': no inline script
    assert '<script src="/console/payments/suspense.js">' in shown.text and "<script>" not in shown.text
    assert f'<meta name="csrf-token" content="{ana["X-CSRF-Token"]}">' in shown.text
    seen = text_of(shown.text)
    assert "Pagos sin asignar de Banco" in seen and "ana@agencia.co · Operador" in seen
    # Received at 10:00 in Bogotá (the test's clock, 15:00 UTC), the amount as es-CO writes it.
    assert "2026-03-31 10:00 $1.234.567,89 Cuenta NO-EXISTE Pasarela · pasarela (gw-77) La cuenta indicada no " \
           "existe" in seen.replace("\xa0", " ")
    assert "Cuenta OTRA-1 · recibo 0042 Registro manual" in seen and seen.count("Asignar") >= 2
    script = await http.get("/console/payments/suspense.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("application/javascript")
    assert "X-CSRF-Token" in script.text

    [gw] = [q for q in (await http.get("/v1/clients/banco/payments/unmatched", headers=ana)).json()["items"]
            if q["gateway_payment_id"] == "gw-77"]
    assign = f"/v1/clients/banco/payments/unmatched/{gw['id']}/assign"
    no_token = await http.post(assign, headers={"Cookie": ana["Cookie"]}, json={"account_ref": "A-1"})
    assert (no_token.status_code, no_token.json()["code"]) == (403, "csrf_token_invalid")
    unknown = await http.post(assign, headers=ana, json={"account_ref": "NO-HAY"})
    assert unknown.status_code == 422 and unknown.json()["detail"]  # what the page shows when refused
    done = await http.post(assign, headers=ana, json={"account_ref": "A-1"})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["account_ref"]) == ("applied", "A-1")
    after = text_of((await http.get("/console/payments/banco", headers={"Cookie": ana["Cookie"]})).text)
    assert "NO-EXISTE" not in after and "OTRA-1" in after
    again = await http.post(assign, headers=ana, json={"account_ref": "A-1"})
    assert again.status_code == 409  # it left the queue


async def test_an_operator_finds_an_accounts_payments_and_reverses_part_of_one_as_the_page_does(
        gateway: Gateway) -> None:
    http = gateway.http
    applied = (await gateway.manual("manual-console-2", {"account_ref": "A-1", "amount": "80000.00", "method": "cash",
                                                         "paid_at": "2026-03-31T09:00:00-05:00",
                                                         "reference": "recibo 0043"})).json()
    ana = await signed_in(gateway.platform, "ana@agencia.co", "operator")
    shown = await http.get("/console/payments/banco?cuenta=A-1", headers={"Cookie": ana["Cookie"]})
    row = text_of(shown.text[shown.text.index(f'id="paid-{applied["id"]}"'):].partition(">")[2])
    assert row.startswith("2026-03-31 10:00 $80.000,00 — Registro manual recibo 0043") and "Revertir" in row
    form = re.search(rf'data-action="(/v1/clients/banco/payments/{applied["id"]}/reversal)"\s+'
                     r'data-key="([^"]+)" data-group="\." data-decimal=","', shown.text)
    assert form is not None  # the page's form: the API's route, its Idempotency-Key, es-CO's marks
    reversal = {**ana, "Idempotency-Key": form.group(2)}
    done = await http.post(form.group(1), headers=reversal, json={"amount": "30000.00", "reason": "Contracargo"})
    assert done.status_code == 200, done.text
    assert (done.json()["remaining"], done.json()["new_balance"]) == ("50000.00", "50000.00")  # 100.000 owed, 80.000 paid, 30.000 back
    twice = await http.post(form.group(1), headers=reversal, json={"amount": "30000.00", "reason": "Contracargo"})
    assert twice.json() == done.json()  # a second press answers the first and reverses no more
    after = text_of((await http.get("/console/payments/banco?cuenta=A-1", headers={"Cookie": ana["Cookie"]})).text)
    assert "$80.000,00 $30.000,00 Registro manual" in after
    none = text_of((await http.get("/console/payments/banco?cuenta=A-2", headers={"Cookie": ana["Cookie"]})).text)
    assert "No hay pagos aplicados a la cuenta buscada." in none
    lure = text_of((await http.get("/console/payments/banco?cuenta=Llame+al+0800",
                                   headers={"Cookie": ana["Cookie"]})).text)
    assert "0800" not in lure  # no text from a link is shown as the page's own words

    eva = await signed_in(gateway.platform, "eva@banco.co", "client", "banco")
    read_page = (await http.get("/console/payments/banco?cuenta=A-1", headers={"Cookie": eva["Cookie"]})).text
    assert 'id="bank-file"' not in read_page  # no upload offered to a client company's person
    read = text_of((await http.get("/console/payments/banco?cuenta=A-1", headers={"Cookie": eva["Cookie"]})).text)
    assert "$80.000,00 $30.000,00 Registro manual" in read and "Revertir" not in read  # a client company's person reads
    refused = await http.post(form.group(1), headers={**eva, "Idempotency-Key": "otra-clave-1"}, json={})
    assert refused.status_code == 403


async def test_a_client_companys_person_reads_its_own_queue_only_and_others_are_refused(gateway: Gateway) -> None:
    http, platform = gateway.http, gateway.platform
    await gateway.send(payment("gw-80", ref="NO-EXISTE", amount="10.00"))
    eva = await signed_in(platform, "eva@banco.co", "client", "banco")
    own = await http.get("/console/payments", headers={"Cookie": eva["Cookie"]})
    assert own.status_code == 303 and own.headers["location"] == "/console/payments/banco"
    seen = text_of((await http.get("/console/payments/banco", headers={"Cookie": eva["Cookie"]})).text)
    assert "Pagos sin asignar de Banco" in seen and "NO-EXISTE" in seen
    assert "Asignar" not in seen and "suspense.js" not in seen  # reads, never assigns
    [queued] = (await http.get("/v1/clients/banco/payments/unmatched", headers=eva)).json()["items"]
    refused = await http.post(f"/v1/clients/banco/payments/unmatched/{queued['id']}/assign", headers=eva,
                              json={"account_ref": "A-1"})
    assert refused.status_code == 403  # and the API refuses them anyway

    await deliver(platform, ClientRegistered(slug="otro", name="Otro", country="CO", currency="COP",
                                             timezone="America/Bogota", locale="es-CO",
                                             default_authorised_channels=["sms"]),
                  await placed(platform, "O-1", client="otro"))
    leo = await signed_in(platform, "leo@otro.co", "client", "otro")
    other = await http.get("/console/payments/banco", headers={"Cookie": leo["Cookie"]})
    assert other.status_code == 404 and "NO-EXISTE" not in other.text
    assert "No hay tal empresa cliente." in text_of(other.text)

    others: tuple[Role, ...] = ("agent", "sre")
    for role in others:
        person = await signed_in(platform, f"{role}@agencia.co", role)
        answer = await http.get("/console/payments/banco", headers={"Cookie": person["Cookie"]})
        assert answer.status_code == 403 and "NO-EXISTE" not in answer.text
        assert "Su rol no permite ver los pagos sin asignar" in text_of(answer.text)
        assert (await http.get("/console/payments", headers={"Cookie": person["Cookie"]})).status_code == 403

    stranger = await http.get("/console/payments/banco")
    assert stranger.status_code == 303 and stranger.headers["location"] == "/console/sign-in"
    assert (await http.get("/console/payments")).headers["location"] == "/console/sign-in"


async def test_the_queue_is_shown_fifty_at_a_time(gateway: Gateway) -> None:
    for i in range(51):
        await gateway.send(payment(f"gw-p{i}", ref=f"NADA-{i:02}", amount="10.00"))
    ana = {"Cookie": (await signed_in(gateway.platform, "ana@agencia.co", "supervisor"))["Cookie"]}
    first = await gateway.http.get("/console/payments/banco", headers=ana)
    assert first.text.count('class="assign"') == 50  # a supervisor assigns too
    later = re.search(r'href="(/console/payments/banco\?after=[^"]+)"', first.text)
    assert later is not None
    rest = await gateway.http.get(later.group(1).replace("&amp;", "&"), headers=ana)
    assert rest.text.count('class="assign"') == 1 and "Siguientes" not in rest.text


async def test_an_operators_page_sends_a_bank_file_with_the_session_and_reads_its_result(gateway: Gateway) -> None:
    http = gateway.http
    ana = await signed_in(gateway.platform, "ana@agencia.co", "operator")
    shown = await http.get("/console/payments/banco", headers={"Cookie": ana["Cookie"]})
    assert 'data-action="/v1/clients/banco/payments/files"' in shown.text and "Subir archivo" in shown.text
    statement = b"Fecha;Referencia;Valor;Comprobante\n30/03/2026;A-2;10.000,00;TX-1\n30/03/2026;NO-ESTA;500;TX-2\n"
    files = {"file": ("extracto.csv", statement)}
    no_token = await http.post("/v1/clients/banco/payments/files", headers={"Cookie": ana["Cookie"]}, files=files)
    assert (no_token.status_code, no_token.json()["code"]) == (403, "csrf_token_invalid")
    sent = await http.post("/v1/clients/banco/payments/files", headers=ana, files=files)
    assert sent.status_code == 201, sent.text
    result = await http.get(sent.headers["location"], headers={"Cookie": ana["Cookie"]})
    assert result.json()["counts"] == {"applied": 1, "unmatched": 1, "duplicate": 0, "rejected": 0}
    queue = text_of((await http.get("/console/payments/banco", headers={"Cookie": ana["Cookie"]})).text)
    assert "Cuenta NO-ESTA" in queue and "Archivo bancario" in queue  # its unmatched line waits in the queue
