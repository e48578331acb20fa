"""A WhatsApp conversation end to end (#20), through the public API only, with a local fake of Meta's Graph API as
Meta: a client company's Cloud API number and approved template are configured, its portfolio is placed, the
template goes out to three debtors as Meta documents it, Meta's signed notifications say it was delivered and read,
and the debtors answer: one presses "No deseo recibir mensajes" (opted out of WhatsApp at once), one presses
"Pagar ahora" (the payment link goes back as a text, and they pay through it), one writes in their own words (the agent desk's queue). Each
account's audit trail shows it all in order, with neither the number nor the words."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import importlib.util
import json
import re
import sys
import time
import uuid
import zoneinfo
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from recaudo_common.testing import RunningPlatform, eventually, platform_process, settings_for_test
from recaudo_common.testing_pages import answer_when

pytestmark = pytest.mark.e2e

OPERATOR_KEY = "rk_e2e_whatsapp_operator_key_0123456"
SLUG = "financiera-jalisco-whatsapp"
CLIENT_NAME = "Financiera Jalisco S.A."
APP_SECRET = "e2e-meta-app-secret"
VERIFY_TOKEN = "e2e-verify-token"
TEMPLATE = {"name": "recordatorio_saldo_mx", "language": "es_MX",
            "parameters": ["debtor_name", "creditor", "payment_link"],
            "buttons": ["pay", "arrange", "opt_out"]}
QUICK_REPLIES = ["pay_now", "arrange_payment", "opt_out"]


def _load_fake_graph_api() -> ModuleType:
    """outreach's fake Graph API (its integration tests' Meta), loaded from its file: the tests' directories are not
    packages on the path under pytest's importlib mode, and one fake of Meta is better than two."""
    path = Path(__file__).resolve().parents[2] / "services/outreach/tests/integration/fake_graph_api.py"
    spec = importlib.util.spec_from_file_location("recaudo_e2e_fake_graph_api", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while they are built
    spec.loader.exec_module(module)
    return module


fake_graph_api = _load_fake_graph_api()


@dataclass(frozen=True)
class Debtor:
    account_ref: str
    id_number: str
    full_name: str
    mobile: str  # national form, as the file writes it

    @property
    def wa_id(self) -> str:
        """The number as Meta writes it: E.164 digits without the '+'."""
        return "52" + self.mobile.replace(" ", "")

    def row(self) -> str:
        return f"{self.account_ref};{self.id_number};{self.full_name};{self.mobile};whatsapp,sms;Jalisco;4250.00;20\n"


OPTS_OUT = Debtor("WA-001", "ROHE850312MJCDRR05", "Herminia Rodríguez Esparza", "800 274 8195")
PAYS = Debtor("WA-002", "VAGM790921HJCLRN02", "Maximiliano Valdivia Garnica", "800 391 6582")
WRITES = Debtor("WA-003", "OCEL880604MJCCSS09", "Leonor Ochoa Escamilla", "800 158 4639")
DEBTORS = (OPTS_OUT, PAYS, WRITES)
FREE_TEXT = "Buenas tardes, ya deposité en la sucursal Zapopan el martes, ¿me confirman?"
CSV = "Número Obligación;Identificación;Nombre Completo;Celular;Canales Autorizados;Estado;Saldo Total;Días Mora\n" + \
    "".join(d.row() for d in DEBTORS)


def mexico_zone_in_contact_hours(now: dt.datetime) -> str:
    """An IANA zone where it is now between 09:00 and 19:00, so Mexican contact law (every day 07-22) lets the
    template go at once: Mexico City when it is, else the nearest whole-hour zone."""
    for offset in sorted(range(-12, 15), key=lambda h: abs(h + 6)):
        zone = "America/Mexico_City" if offset == -6 else f"Etc/GMT{-offset:+d}"
        if 9 <= now.astimezone(zoneinfo.ZoneInfo(zone)).hour < 19:
            return zone
    raise AssertionError("every hour of the day is covered by some zone")


@dataclass
class Meta:
    graph: Any  # fake_graph_api.FakeGraphApi
    base_url: str


@pytest.fixture
async def meta() -> AsyncIterator[Meta]:
    graph = fake_graph_api.FakeGraphApi()
    async with fake_graph_api.serving(graph) as base_url:
        yield Meta(graph, base_url)


@pytest.fixture
async def whatsapp_platform(database_url: str, tmp_path: Path) -> AsyncIterator[RunningPlatform]:
    """The platform on its embedded transport with the settings' WhatsApp provider off: a client company on Meta's
    Cloud API is routed to it all the same, and nothing else could send its WhatsApp."""
    providers = {"sms": "sandbox", "email": "sandbox", "whatsapp": "off", "voice": "sandbox", "letter": "sandbox"}
    async with platform_process(settings_for_test(database_url), tmp_path, OPERATOR_KEY,
                                RECAUDO_OUTREACH_PROVIDERS=json.dumps(providers),
                                RECAUDO_OUTREACH_SCHEDULER_POLL_S="0.2") as platform:
        yield platform


async def until(check: Any, message: str, timeout_s: float = 30) -> Any:
    return await eventually(check, timeout_s=timeout_s, interval_s=0.2, message=message)


async def answered(http: httpx.AsyncClient, method: str, url: str, ok: tuple[int, ...], message: str,
                   **kwargs: Any) -> httpx.Response:
    """The answer once its status is one of `ok` (another service may not have learned of the client company yet)."""
    return await answer_when(http, method, url, lambda a: a.status_code in ok, message, **kwargs)


def signed(raw: bytes) -> dict[str, str]:
    """The headers Meta posts a notification with: X-Hub-Signature-256, the app secret's HMAC-SHA256 of the raw
    bytes (https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads). Computed
    here, not with the platform's helper, so that the test holds the platform to Meta's algorithm."""
    return {"content-type": "application/json",
            "X-Hub-Signature-256": "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()}


def notification(graph: Any, **value: Any) -> bytes:
    """A WhatsApp Business Account webhook notification for the client company's number, as Meta posts it
    (https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/text,
    .../messages/button, .../messages/status): Unicode escaped, one change of field `messages`."""
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "value": {"messaging_product": "whatsapp",
                  "metadata": {"display_phone_number": "523312345678", "phone_number_id": graph.phone_number_id},
                  **value},
        "field": "messages"}]}]}).encode()


def status(message_id: str, debtor: Debtor, what: str) -> dict[str, Any]:
    return {"id": message_id, "status": what, "timestamp": str(int(time.time())), "recipient_id": debtor.wa_id,
            "conversation": {"id": "c0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5", "origin": {"type": "utility"}},
            "pricing": {"billable": True, "pricing_model": "CBP", "category": "utility"}}


def from_debtor(debtor: Debtor, message: dict[str, Any]) -> dict[str, Any]:
    return {"contacts": [{"profile": {"name": debtor.full_name.split()[0]}, "wa_id": debtor.wa_id}],
            "messages": [{"from": debtor.wa_id, "timestamp": str(int(time.time())), **message}]}


async def post_notification(http: httpx.AsyncClient, webhook: str, raw: bytes) -> dict[str, Any]:
    answer = await http.post(webhook, content=raw, headers=signed(raw))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def kinds(history: dict[str, Any]) -> list[str]:
    return [t["kind"] for t in history["trail"]]


def in_order(found: list[str], expected: list[str]) -> bool:
    """Whether `expected` appears in `found` in this order (other entries may come between)."""
    rest = iter(found)
    return all(kind in rest for kind in expected)


async def test_a_template_goes_out_the_debtors_answer_and_the_trail_shows_it_all(
        whatsapp_platform: RunningPlatform, meta: Meta) -> None:
    platform, graph = whatsapp_platform, meta.graph
    async with platform.client() as operator, httpx.AsyncClient(base_url=platform.base_url, timeout=30) as meta_http:
        zone = mexico_zone_in_contact_hours(dt.datetime.now(dt.UTC))
        created = await operator.post("/v1/clients", json={
            "slug": SLUG, "name": CLIENT_NAME, "country": "MX", "currency": "MXN", "timezone": zone,
            "locale": "es-MX"})
        assert created.status_code == 201, created.text

        # One bucket, every account's treatment WhatsApp alone: the first touch is the template, now.
        rules = [{"bucket": "todas", "tier": tier, "treatment": "whatsapp_primero", "channels": ["whatsapp"],
                  "cadence_days": 3} for tier in ("high", "medium", "low")]
        await answered(operator, "PUT", f"/v1/clients/{SLUG}/buckets", (200,), "buckets and strategy set",
                       json={"buckets": [{"label": "todas", "low": -365, "high": 36500}],
                             "strategy": {"tiers": {"high": "100000", "medium": "10000"}, "rules": rules}})

        channel = await answered(operator, "PUT", f"/v1/clients/{SLUG}/channels/whatsapp", (201,),
                                 "the WhatsApp channel configured", json={
                                     "kind": "whatsapp_cloud", "phone_number_id": graph.phone_number_id,
                                     "access_token": graph.token, "app_secret": APP_SECRET,
                                     "verify_token": VERIFY_TOKEN, "api_base_url": meta.base_url,
                                     "api_version": graph.version})
        assert graph.token not in channel.text and APP_SECRET not in channel.text and VERIFY_TOKEN not in channel.text
        webhook = urlsplit(channel.json()["webhook_url"]).path
        assert channel.json()["webhook_url"] == platform.base_url + webhook
        # Meta verifies the callback URL before it sends anything: the bare challenge, as text.
        verified = await meta_http.get(webhook, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                                        "hub.challenge": "1158201444"})
        assert (verified.status_code, verified.text) == (200, "1158201444")

        approved = await operator.put(f"/v1/clients/{SLUG}/templates/whatsapp/es-MX/approved", json=TEMPLATE)
        assert approved.status_code == 200, approved.text

        upload = await operator.post(f"/v1/clients/{SLUG}/portfolios",
                                     files={"file": ("cartera.csv", CSV.encode(), "text/csv")})
        assert upload.status_code == 202, upload.text

        # The template reaches Meta once for each debtor, as documented: to the number as digits, the approved
        # name and language, the body's parameters in order and each quick reply's payload.
        async def three_templates() -> bool:
            return len(graph.taken) >= 3

        await until(three_templates, "the template posted to the Graph API for each debtor", timeout_s=45)
        template_of: dict[str, Any] = {}
        for posted in graph.taken:
            assert posted.path == f"/{graph.version}/{graph.phone_number_id}/messages"
            assert posted.authorization == f"Bearer {graph.token}"
            assert posted.content_type == "application/json"
            template_of[posted.body["to"]] = posted
        assert sorted(template_of) == sorted(d.wa_id for d in DEBTORS), [p.body["to"] for p in graph.posted]
        assert all(p.message_id for p in graph.posted), "the fake refused a post: " + str(graph.posted)
        for debtor in DEBTORS:
            body = template_of[debtor.wa_id].body
            link = body["template"]["components"][0]["parameters"][2]["text"]
            assert re.fullmatch(re.escape(platform.base_url) + r"/pay/[A-Za-z0-9_.=-]+", link), link
            uuid.UUID(body["biz_opaque_callback_data"])  # the attempt's id, returned in the message's statuses
            assert body == {
                "messaging_product": "whatsapp", "recipient_type": "individual", "to": debtor.wa_id,
                "biz_opaque_callback_data": body["biz_opaque_callback_data"], "type": "template",
                "template": {"name": TEMPLATE["name"], "language": {"code": "es_MX"}, "components": [
                    {"type": "body", "parameters": [{"type": "text", "text": debtor.full_name.split()[0]},
                                                    {"type": "text", "text": CLIENT_NAME},
                                                    {"type": "text", "text": link}]},
                    *({"type": "button", "sub_type": "quick_reply", "index": str(i),
                       "parameters": [{"type": "payload", "payload": payload}]}
                      for i, payload in enumerate(QUICK_REPLIES))]}}
        wamid = {d.account_ref: template_of[d.wa_id].message_id for d in DEBTORS}

        # Meta answers the post before the send's own transaction records the message id: a status that comes in
        # between is kept and applied once it does (an early receipt, counted `unknown`). Here they come after.
        async def all_recorded_sent() -> bool:
            for debtor in DEBTORS:
                history = (await operator.get(f"/v1/clients/{SLUG}/accounts/{debtor.account_ref}/contacts")).json()
                if not any(a["sent_at"] for a in history["items"]):
                    return False
            return True

        await until(all_recorded_sent, "each template's send recorded with its message id")

        # Meta reports the templates delivered and read (one only read: read implies delivered), and a late
        # `sent` that changes nothing.
        raw = notification(graph, statuses=[
            status(wamid[OPTS_OUT.account_ref], OPTS_OUT, "delivered"),
            status(wamid[PAYS.account_ref], PAYS, "delivered"),
            status(wamid[OPTS_OUT.account_ref], OPTS_OUT, "read"),
            status(wamid[WRITES.account_ref], WRITES, "read"),
            status(wamid[PAYS.account_ref], PAYS, "sent")])
        # A notification whose signature is not over these bytes is refused and changes nothing.
        forged = await meta_http.post(webhook, content=raw.replace(b"delivered", b"failed", 1), headers=signed(raw))
        assert forged.status_code == 401, forged.text
        counts = await post_notification(meta_http, webhook, raw)
        assert counts["statuses"] == {"applied": 3, "duplicate": 2, "unknown": 0}, counts

        for debtor in DEBTORS:
            history = (await operator.get(f"/v1/clients/{SLUG}/accounts/{debtor.account_ref}/contacts")).json()
            [first] = [a for a in history["items"] if a["sent_at"]]
            assert (first["channel"], first["provider"], first["status"]) == ("whatsapp", "whatsapp_cloud",
                                                                              "delivered"), first

        # Debtor 1 presses the template's "No deseo recibir mensajes": Meta posts the button's payload and label,
        # naming our message.
        pressed = notification(graph, **from_debtor(OPTS_OUT, {
            "context": {"from": "523312345678", "id": wamid[OPTS_OUT.account_ref]}, "id": "wamid.E2E.OPTOUT1",
            "type": "button", "button": {"payload": "opt_out", "text": "No deseo recibir mensajes"}}))
        counts = await post_notification(meta_http, webhook, pressed)
        assert counts["messages"] == {"recorded": 1, "duplicate": 0, "unmatched": 0}, counts
        counts = await post_notification(meta_http, webhook, pressed)  # Meta's retry: nothing done twice
        assert counts["messages"] == {"recorded": 0, "duplicate": 1, "unmatched": 0}, counts
        check = await operator.post("/v1/compliance/check", json={
            "client": SLUG, "account_ref": OPTS_OUT.account_ref, "channel": "whatsapp",
            "at": dt.datetime.now(dt.UTC).isoformat()})
        assert check.status_code == 200, check.text
        assert not check.json()["allowed"] and "opted_out" in check.json()["reasons"], check.json()
        sms = await operator.post("/v1/compliance/check", json={
            "client": SLUG, "account_ref": OPTS_OUT.account_ref, "channel": "sms",
            "at": dt.datetime.now(dt.UTC).isoformat()})
        assert "opted_out" not in sms.json()["reasons"], sms.json()  # that channel only

        # Debtor 2 presses "Pagar ahora": the payment link goes back inside the window the press opened, as text.
        counts = await post_notification(meta_http, webhook, notification(graph, **from_debtor(PAYS, {
            "context": {"from": "523312345678", "id": wamid[PAYS.account_ref]}, "id": "wamid.E2E.PAY1",
            "type": "button", "button": {"payload": "pay_now", "text": "Pagar ahora"}})))
        assert counts["messages"]["recorded"] == 1, counts

        async def link_sent() -> Any:
            return next((p for p in graph.taken if p.body["to"] == PAYS.wa_id and p.body["type"] != "template"),
                        None)

        answer = await until(link_sent, "the payment link sent to the debtor who pressed Pagar ahora")
        text = answer.body["text"]["body"]
        assert answer.body == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": PAYS.wa_id,
                               "biz_opaque_callback_data": answer.body["biz_opaque_callback_data"], "type": "text",
                               "text": {"body": text}}
        [link] = re.findall(re.escape(platform.base_url) + r"/pay/[A-Za-z0-9_.=-]+", text)
        assert text.startswith("Puede pagar de forma segura aquí:"), text
        # The debtor follows the link, answers the identity question and pays part of the balance through the
        # sandbox gateway, as a browser's forms post them.
        async with httpx.AsyncClient(base_url=platform.base_url, timeout=30,
                                     headers={"accept": "text/html"}) as browser:
            page = urlsplit(link).path
            assert (await browser.get(page)).status_code == 200
            verified_page = await browser.post(page, data={"digits": PAYS.id_number[-6:]})
            assert verified_page.status_code == 200, verified_page.text[:500]
            [proof] = re.findall(r'name="proof" value="([^"]+)"', verified_page.text)[:1]
            [nonce] = sorted(set(re.findall(r'name="nonce" value="([^"]+)"', verified_page.text)))  # one a page
            paid = await browser.post(f"{page}/pay", data={"proof": proof, "amount": "1000.00", "nonce": nonce})
            assert paid.status_code == 200 and "Pago recibido" in paid.text, paid.text[:500]

        async def balance_lowered() -> bool:
            view = await operator.get(f"/v1/clients/{SLUG}/accounts/{PAYS.account_ref}")
            return view.status_code == 200 and Decimal(view.json()["balance"]) == Decimal("3250.00")

        await until(balance_lowered, "the payment through the link lowered the balance the client company sees")

        # Debtor 3 writes in their own words (no button, no reply context): matched by number within the client
        # company, the message waits for an agent.
        counts = await post_notification(meta_http, webhook, notification(graph, **from_debtor(WRITES, {
            "id": "wamid.E2E.TEXT1", "type": "text", "text": {"body": FREE_TEXT}})))
        assert counts["messages"]["recorded"] == 1, counts
        queue = (await operator.get(f"/v1/clients/{SLUG}/whatsapp/conversations")).json()["items"]
        assert [(c["account_refs"], c["message_type"], c["text"]) for c in queue] == [
            ([WRITES.account_ref], "text", FREE_TEXT)], queue

        # The audit trail, account by account, in order; never the number nor the words.
        expected = {
            OPTS_OUT.account_ref: ["decision", "sending", "sent", "delivered", "whatsapp_inbound", "opted_out",
                                   "cancelled"],
            PAYS.account_ref: ["decision", "sending", "sent", "delivered", "whatsapp_inbound",
                               "whatsapp_answer_queued", "whatsapp_answer_sent", "page_verified", "page_payment"],
            WRITES.account_ref: ["decision", "sending", "sent", "delivered", "whatsapp_inbound"]}
        meanings = {OPTS_OUT.account_ref: "opt_out", PAYS.account_ref: "pay", WRITES.account_ref: "agent"}
        histories: dict[str, str] = {}
        for debtor in DEBTORS:
            ref = debtor.account_ref

            async def trail_complete(ref: str = ref) -> Any:
                history = (await operator.get(f"/v1/clients/{SLUG}/accounts/{ref}/contacts")).json()
                return history if in_order(kinds(history), expected[ref]) else None

            try:
                history = await until(trail_complete, f"{ref}'s trail complete")
            except AssertionError:
                last = (await operator.get(f"/v1/clients/{SLUG}/accounts/{ref}/contacts")).json()
                raise AssertionError(f"{ref}: {kinds(last)} does not hold {expected[ref]} in order") from None
            [inbound] = [t for t in history["trail"] if t["kind"] == "whatsapp_inbound"]
            assert (inbound["channel"], inbound["detail"]["meaning"]) == ("whatsapp", meanings[ref]), inbound
            [first, *later] = sorted(history["items"], key=lambda a: a["scheduled_at"])
            assert (first["channel"], first["provider"]) == ("whatsapp", "whatsapp_cloud"), first
            assert first["status"] == ("delivered" if debtor is WRITES else "replied"), first
            # The opt-out stopped the WhatsApp touches still to come; the debtor in the agent's queue keeps its
            # touches to come, none cancelled. Either has three to come, or four when segmentation decided the
            # same treatment again after the first went out (the test's strategy and channel changes re-segment
            # every open account, and on a loaded machine they may come after the placements): the kept plan is
            # topped up to four. (The payment re-segments the account that paid: not asserted here.)
            if debtor is OPTS_OUT:
                stopped = [(a["status"], a["cancel_reason"], a["sent_at"]) for a in later]
                assert len(stopped) in (3, 4) and set(stopped) == {("cancelled", "opted out", None)}, later
            elif debtor is WRITES:
                to_come = [(a["channel"], a["status"], a["sent_at"]) for a in later]
                assert len(to_come) in (3, 4) and set(to_come) == {("whatsapp", "scheduled", None)}, later
            histories[ref] = json.dumps(history, ensure_ascii=False)
        [opted] = [t for t in json.loads(histories[OPTS_OUT.account_ref])["trail"] if t["kind"] == "opted_out"]
        assert (opted["channel"], opted["detail"]) == ("whatsapp", {"source": "reply"}), opted
        [sent] = [t for t in json.loads(histories[PAYS.account_ref])["trail"] if t["kind"] == "whatsapp_answer_sent"]
        assert sent["detail"]["provider_message_id"] == answer.message_id, sent
        words = [FREE_TEXT, "Zapopan", "No deseo recibir mensajes", "Pagar ahora", text, link]
        for debtor in DEBTORS:
            found = histories[debtor.account_ref]
            for secret in (debtor.wa_id, "+" + debtor.wa_id, debtor.mobile, debtor.mobile.replace(" ", ""),
                           *words):
                assert secret not in found, f"{debtor.account_ref}'s history holds {secret!r}"
