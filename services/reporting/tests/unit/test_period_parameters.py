"""Every reporting route that takes a period says in its OpenAPI document how `from` and `to` are written: a reader
of Swagger UI (an analyst writing a URL or a spreadsheet query) learns the form before a 422 tells it."""

import pytest

from recaudo.services import openapi_of

pytestmark = pytest.mark.unit


def test_every_from_and_to_parameter_says_how_it_is_written() -> None:
    described: dict[str, str] = {}
    for path, item in openapi_of("reporting")["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter["in"] == "query" and parameter["name"] in ("from", "to"):
                    described[f"{method} {path} {parameter['name']}"] = parameter.get("description", "")
    assert len(described) >= 10, described  # recovery, commission, both experiments, roll rates
    assert [where for where, text in described.items() if "YYYY-MM" not in text] == []
    assert "YYYY-MM, both included" in described["get /v1/clients/{slug}/reports/roll-rates from"]
