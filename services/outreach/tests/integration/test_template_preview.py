"""The templates' live preview (#23): a template not saved yet renders on the sample account with the renderer that
sends, refuses what a save would refuse (an unknown variable, with the reason), stores nothing, and answers only
for the caller's own client company."""

from __future__ import annotations

import pytest

from .conftest import Outreach, client_event

pytestmark = pytest.mark.integration
URL = "/v1/clients/banco/templates/preview"
BODY = "{{ creditor }}: {{ debtor_name }}, su obligacion {{ account_ref }}. Pague en {{ payment_link }} {{ opt_out }}"


async def test_a_template_not_saved_renders_on_the_sample_account_and_nothing_is_stored(outreach: Outreach) -> None:
    answer = await outreach.http.post(URL, headers=outreach.auth,
                                      json={"channel": "sms", "locale": "es-CO", "body": BODY})
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    assert preview["body"].startswith("Banco Andino: María, su obligacion OBL-000123. Pague en ")
    assert "/pay/EJEMPLO" in preview["body"] and "{{" not in preview["body"]
    assert preview["encoding"] in ("GSM-7", "UCS-2") and preview["segments"] >= 1
    assert await outreach.sql("SELECT count(*) FROM outreach.templates") == [(0,)]
    email = await outreach.http.post(URL, headers=outreach.auth, json={
        "channel": "email", "locale": "es-CO", "subject": "{{ creditor }}: {{ account_ref }}", "body": BODY})
    assert email.status_code == 200 and email.json()["subject"] == "Banco Andino: OBL-000123", email.text
    assert email.json()["segments"] is None


async def test_an_unknown_variable_or_a_bomb_is_refused_with_the_reason(outreach: Outreach) -> None:
    unknown = await outreach.http.post(URL, headers=outreach.auth, json={
        "channel": "sms", "locale": "es-CO", "body": "Hola {{ apodo }} {{ opt_out }}"})
    assert (unknown.status_code, unknown.json()["code"]) == (422, "invalid_template"), unknown.text
    assert "unknown variable(s): apodo" in unknown.json()["detail"]
    no_opt_out = await outreach.http.post(URL, headers=outreach.auth, json={
        "channel": "sms", "locale": "es-CO", "body": "Hola {{ debtor_name }}"})
    assert (no_opt_out.status_code, no_opt_out.json()["code"]) == (422, "invalid_template")
    bomb = await outreach.http.post(URL, headers=outreach.auth, json={
        "channel": "sms", "locale": "es-CO", "body": "{{ 'x' * 10**9 }}{{ opt_out }}"})
    assert (bomb.status_code, bomb.json()["code"]) == (422, "template_too_expensive"), bomb.text


async def test_only_the_callers_own_client_company(outreach: Outreach) -> None:
    await outreach.deliver(client_event("otro"), client="otro")
    mine = {"Authorization": f"Bearer {outreach.client_key}"}
    own = await outreach.http.post(URL, headers=mine, json={"channel": "sms", "locale": "es-CO", "body": BODY})
    other = await outreach.http.post("/v1/clients/otro/templates/preview", headers=mine,
                                     json={"channel": "sms", "locale": "es-CO", "body": BODY})
    anonymous = await outreach.http.post(URL, json={"channel": "sms", "locale": "es-CO", "body": BODY})
    assert own.status_code == 200, own.text
    assert other.status_code in (403, 404) and anonymous.status_code == 401
