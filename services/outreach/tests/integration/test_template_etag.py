"""Two people editing one template (#23): GET gives an ETag (the default's before any save), a PUT with it as
If-Match is kept, one with a template no longer in force is refused 412 and keeps nothing, none is optional."""

from __future__ import annotations

import pytest

from .conftest import Outreach

pytestmark = pytest.mark.integration
URL = "/v1/clients/banco/templates/sms/es-CO"
ANA = "{{ creditor }}: su obligacion {{ account_ref }} esta en mora. Pague en {{ payment_link }} {{ opt_out }}"
LUIS = "{{ creditor }} le recuerda {{ account_ref }}: {{ payment_link }} {{ opt_out }}"


async def test_a_template_changed_since_it_was_read_is_not_overwritten(outreach: Outreach) -> None:
    http, auth = outreach.http, outreach.auth
    default = await http.get(URL, headers=auth)
    tag = default.headers["ETag"]
    assert default.status_code == 200 and (await http.get(URL, headers=auth)).headers["ETag"] == tag

    ana = await http.put(URL, headers={**auth, "If-Match": tag}, json={"body": ANA})
    assert ana.status_code == 200, ana.text
    assert ana.headers["ETag"] == (await http.get(URL, headers=auth)).headers["ETag"] != tag

    luis = await http.put(URL, headers={**auth, "If-Match": tag}, json={"body": LUIS})  # read before Ana saved
    assert (luis.status_code, luis.json()["code"]) == (412, "precondition_failed"), luis.text
    assert (await http.get(URL, headers=auth)).json()["body"] == ANA  # Ana's is kept

    again = await http.put(URL, headers={**auth, "If-Match": ana.headers["ETag"]}, json={"body": LUIS})
    assert again.status_code == 200 and (await http.get(URL, headers=auth)).json()["body"] == LUIS
    assert (await http.put(URL, headers=auth, json={"body": ANA})).status_code == 200  # If-Match is optional
    other = await http.get("/v1/clients/banco/templates/email/es-CO", headers=auth)
    stale_elsewhere = await http.put("/v1/clients/banco/templates/email/es-CO",
                                     headers={**auth, "If-Match": again.headers["ETag"]},
                                     json={"subject": "Su obligacion", "body": ANA})
    assert other.headers["ETag"] != again.headers["ETag"] and stale_elsewhere.status_code == 412
