"""A client company is usable in every service as soon as its registration is answered (#23): the answer waits
for each service that keeps a copy to say it holds it (client.ready), so the strategy, the contact rules, the
report and the suspense queue answer at once, never 404 for a moment; on both transports."""

import pytest

from recaudo_common.events import CLIENT_COPY_KEEPERS
from recaudo_common.testing import RunningPlatform

pytestmark = pytest.mark.e2e

CLIENT = {"name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota", "locale": "es-CO"}
# One route of each service that keeps a copy, each answering 404 for a client company it does not hold.
EVERY_SERVICE = {"segmentation": "/v1/clients/{slug}/strategy", "outreach": "/v1/clients/{slug}/contact-rules",
                 "reporting": "/v1/clients/{slug}/reports/recovery",
                 "payments": "/v1/clients/{slug}/gateways/wompi"}


async def test_a_new_client_company_answers_in_every_service_at_once(
        running_platform: RunningPlatform) -> None:
    async with running_platform.client() as operator:
        for service, route in EVERY_SERVICE.items():  # the routes do tell an unknown client company apart
            assert (await operator.get(route.format(slug="nadie"))).status_code == 404, service
        for slug in ("banco-1", "banco-2", "banco-3"):
            created = await operator.post("/v1/clients", json={"slug": slug, **CLIENT})
            assert created.status_code == 201, created.text
            assert created.json()["services_pending"] == []
            for service, route in EVERY_SERVICE.items():
                answer = await operator.get(route.format(slug=slug))
                # The gateway account is not set up (404 gateway_not_configured), but the client company is known.
                assert answer.status_code == 200 or answer.json().get("code") != "client_not_found", (
                    service, answer.text)
                if service != "payments":
                    assert answer.status_code == 200, (service, answer.text)
    assert set(EVERY_SERVICE) == set(CLIENT_COPY_KEEPERS)
