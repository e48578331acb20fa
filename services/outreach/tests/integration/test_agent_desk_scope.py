"""The agent desk's queue for people limited to some client companies, and who was handed each call (#23), through
outreach's real app and PostgreSQL: a scoped agent is handed only calls of its companies and gets 404 for the
others' queue and accounts; every call /v1/agent/next hands out records to whom (a person's e-mail and user id, a
key's id) and when, in its answer, on the attempt the contact history shows, and in the trail (by id only).
Named to be collected after the sibling it imports from (in a whole run 'tests' is a service's package)."""

import datetime as dt
from collections.abc import Sequence

import httpx
import pytest

from recaudo_common.auth import Role
from recaudo_common.people import UserStore
from recaudo_common.sessions import csrf_token

from .conftest import Outreach, client_event, segmented
from .test_agent_desk_console import RULES, desk

pytestmark = pytest.mark.integration
__all__ = ["desk"]  # the fixture, imported for the tests below


async def person(o: Outreach, email: str, role: Role, clients: Sequence[str] | None) -> tuple[dict[str, str], str]:
    """The headers of a browser signed in as a new agency user limited to `clients`, and the user's id."""
    user = await UserStore(o.platform.db).create(email=email, role=role, client_slug=None, password_hash=None,
                                                 totp_secret=None, by="test", now=o.clock.now, client_scope=clients)
    token = await o.platform.auth.sessions.open(user_id=user.id, by="password", rules=RULES, now=o.clock.now)
    return {"Cookie": f"recaudo_session={token}", "X-CSRF-Token": csrf_token(token)}, str(user.id)


async def test_a_scoped_agent_is_handed_only_calls_of_its_companies(desk: tuple[Outreach, httpx.AsyncClient]) -> None:
    o, http = desk
    await o.deliver(client_event("sur"), client="sur")
    # Banco's call is worth more: an unscoped queue would hand it first.
    await o.deliver(await o.placed("B-1", channels=("agent",)), segmented("B-1", ("agent",), value="900000"))
    await o.deliver(await o.placed("S-1", client="sur", channels=("agent",)),
                    segmented("S-1", ("agent",), value="1000"), client="sur")
    pedro, pedro_id = await person(o, "pedro@agencia.co", "agent", ["sur"])

    refused = await http.get("/v1/agent/next?client=banco", headers=pedro)
    assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
    assert {status for _, status in await o.attempts("B-1")} == {"scheduled"}  # nothing of banco's was touched
    for url in ("/v1/clients/banco/accounts/B-1/contacts", "/v1/clients/banco/accounts/B-1/payment-link"):
        body = {"channel": "agent", "at": o.clock.now.isoformat(), "outcome": "refused"} if url.endswith("s") else None
        answer = await http.post(url, headers=pedro, json=body)
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found"), url

    taken = await http.get("/v1/agent/next?client=sur", headers=pedro)
    assert taken.status_code == 200, taken.text
    call = taken.json()["item"]
    assert (call["client"], call["account_ref"]) == ("sur", "S-1")
    assert (call["assigned_to"], call["assigned_at"]) == ("user pedro@agencia.co", "2026-03-04T15:00:00Z")
    assert (await http.get("/v1/agent/next?client=sur", headers=pedro)).json()["item"] is None

    # The desk's page offers only its companies.
    page = await http.get("/console/agent", headers={"Cookie": pedro["Cookie"]})
    assert page.status_code == 200 and 'value="sur"' in page.text and 'value="banco"' not in page.text
    [(to_id, to, at)] = await o.sql("SELECT assigned_to_id::text, assigned_to, assigned_at FROM outreach.attempts "
                                    "WHERE account_ref = 'S-1' AND status = 'assigned'")
    assert (to_id, to, at) == (pedro_id, "user pedro@agencia.co", o.clock.now)


async def test_who_was_handed_a_call_is_on_the_attempt_and_in_the_trail(
        desk: tuple[Outreach, httpx.AsyncClient]) -> None:
    o, http = desk
    await o.deliver(await o.placed("B-1", channels=("agent",)), segmented("B-1", ("agent",), value="900000"))
    await o.deliver(await o.placed("B-2", debtor="2030405060", channels=("agent",)),
                    segmented("B-2", ("agent",), value="1000"))
    luis, luis_id = await person(o, "luis@agencia.co", "agent", None)  # unscoped: every company, as before
    o.clock.now += dt.timedelta(minutes=3)
    by_person = (await http.get("/v1/agent/next?client=banco", headers=luis)).json()["item"]
    assert (by_person["account_ref"], by_person["assigned_to"]) == ("B-1", "user luis@agencia.co")
    by_key = (await http.get("/v1/agent/next?client=banco", headers=o.auth)).json()["item"]
    key_id = (await o.sql("SELECT id::text FROM identity.api_keys WHERE role = 'operator' ORDER BY created_at "
                          "LIMIT 1"))[0][0]
    assert (by_key["account_ref"], by_key["assigned_to"]) == ("B-2", f"key {key_id}")

    history = await http.get("/v1/clients/banco/accounts/B-1/contacts", headers=o.auth)
    assert history.status_code == 200, history.text
    [attempt] = [a for a in history.json()["items"] if a["status"] != "scheduled"]
    assert (attempt["status"], attempt["assigned_to"], attempt["assigned_at"]) == (
        "assigned", "user luis@agencia.co", "2026-03-04T15:03:00Z")
    [assigned] = [t for t in history.json()["trail"] if t["kind"] == "assigned"]
    assert assigned["detail"] == {"assigned_to_id": luis_id}  # the trail keeps no e-mail
    # The outcome the agent logs is recorded with the same person.
    logged = await http.post("/v1/clients/banco/accounts/B-1/contacts", headers=luis, json={
        "channel": "agent", "at": o.clock.now.isoformat(), "outcome": "refused", "attempt_id": by_person["attempt_id"]})
    assert logged.status_code == 201, logged.text
    assert await o.sql("SELECT logged_by::text FROM outreach.contacts WHERE account_ref = 'B-1'") == [(luis_id,)]
    # Asking for a call is an action of the person, among those recorded with their name (recaudo_common.actions).
    asked = await o.sql("SELECT actor, method, status FROM identity.actions WHERE route = '/v1/agent/next' "
                        "ORDER BY id")
    assert asked == [("user luis@agencia.co", "GET", 200), (f"key {key_id}", "GET", 200)]
