"""Schemathesis against every service's OpenAPI, generated from the code: requests that follow each schema
and requests that break it, sent with an operator key, a client company's key and an SRE key to the whole platform (its own process, over real HTTP
and PostgreSQL, with a client company and its accounts in place). No answer may be a 5xx, and every answer
must match the schema and content type the service declares for its status.

`make test` runs FUZZ_EXAMPLES (default 12) examples an operation with the operator's key and a third as many with
each other role's; `make fuzz` runs 200."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from recaudo.services import BUILDERS, openapi_of
from recaudo_common.testing import RunningPlatform, place_portfolio, platform_in_own_database

pytestmark = pytest.mark.e2e
SERVICES = ("ingest", "segmentation", "outreach", "payments", "reporting")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
OPERATOR_KEY = "rk_fuzz_operator_key_0123456789abc"
CSV = ("Número Obligación;Cédula;Nombre Completo;Celular;Saldo Total;Días Mora\n" + "".join(
    f"A-{i:03d};10203040{i:02d};Cliente {i};300 123 45{i:02d};{(i + 1) * 100000};{15 * i}\n" for i in range(1, 6)))


def api_of(service: str) -> dict[str, Any]:
    document = openapi_of(service)
    # The dashboard and debtor pages are HTML for people, checked in a browser by their own tests.
    document["paths"] = {p: v for p, v in document["paths"].items() if p.startswith("/v1/")}
    return document


@pytest.fixture(scope="module")
async def fuzz_platform(postgres_server_url: str, template_database: str,
                        tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningPlatform]:
    async with platform_in_own_database(postgres_server_url, template_database, "fuzz",
                                        tmp_path_factory.mktemp("fuzz"), OPERATOR_KEY) as p:
        async with p.client() as operator:
            created = await operator.post("/v1/clients", json={
                "slug": "banco-andino", "name": "Banco Andino S.A.", "country": "CO", "currency": "COP",
                "timezone": "America/Bogota", "locale": "es-CO"})
            assert created.status_code == 201, created.text
            await place_portfolio(operator, "banco-andino", CSV.encode(), 5)
            for role, body in (("client", {"role": "client", "client": "banco-andino"}), ("sre", {"role": "sre"})):
                created = await operator.post("/v1/keys", json=body)
                assert created.status_code == 201, created.text
                assert created.headers["Location"] == f"/v1/keys/{created.json()['id']}"
                KEYS[role] = created.json()["key"]
        yield p


KEYS: dict[str, str] = {"operator": OPERATOR_KEY}  # the client's and the SRE's are made by the fixture


@schemathesis.check
def created_says_where(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """Every 201 names what it made in `Location` (#23), a path on the platform or the link it made."""
    if response.status_code == 201:
        location = response.headers.get("location") or response.headers.get("Location")
        location = location[0] if isinstance(location, list) else location
        assert location and (location.startswith("/") or location.startswith("http")), (
            f"{case.operation.label} answered 201 without a Location")
    return None


def _fuzz(service: str, role: str = "operator") -> Any:
    schema = schemathesis.openapi.from_dict(api_of(service))
    examples = EXAMPLES if role == "operator" else max(4, EXAMPLES // 3)

    @schema.parametrize()
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def test(case: schemathesis.Case, fuzz_platform: RunningPlatform) -> None:
        case.call_and_validate(base_url=fuzz_platform.base_url, timeout=60,
                               headers={"Authorization": f"Bearer {KEYS[role]}"},
                               checks=[not_a_server_error, response_schema_conformance, content_type_conformance,
                                       created_says_where])

    suffix = "" if role == "operator" else f"_as_{role}"
    test.__name__ = f"test_{service}_api_follows_its_openapi{suffix}"
    test.__doc__ = f"{service} ({role} key): no 5xx, and every answer matches the schema {service} declares for it."
    return test


test_ingest_api_follows_its_openapi = _fuzz("ingest")
test_segmentation_api_follows_its_openapi = _fuzz("segmentation")
test_outreach_api_follows_its_openapi = _fuzz("outreach")
test_payments_api_follows_its_openapi = _fuzz("payments")
test_reporting_api_follows_its_openapi = _fuzz("reporting")
test_ingest_api_follows_its_openapi_as_client = _fuzz("ingest", "client")
test_segmentation_api_follows_its_openapi_as_client = _fuzz("segmentation", "client")
test_outreach_api_follows_its_openapi_as_client = _fuzz("outreach", "client")
test_payments_api_follows_its_openapi_as_client = _fuzz("payments", "client")
test_reporting_api_follows_its_openapi_as_client = _fuzz("reporting", "client")
test_ingest_api_follows_its_openapi_as_sre = _fuzz("ingest", "sre")
test_segmentation_api_follows_its_openapi_as_sre = _fuzz("segmentation", "sre")
test_outreach_api_follows_its_openapi_as_sre = _fuzz("outreach", "sre")
test_payments_api_follows_its_openapi_as_sre = _fuzz("payments", "sre")
test_reporting_api_follows_its_openapi_as_sre = _fuzz("reporting", "sre")


def test_every_service_is_fuzzed() -> None:
    assert set(BUILDERS) == set(SERVICES)
    assert all(api_of(s)["paths"] for s in SERVICES)
    assert all(callable(globals().get(f"test_{s}_api_follows_its_openapi{suffix}"))
               for s in SERVICES for suffix in ("", "_as_client", "_as_sre"))
