"""Every service's OpenAPI document declares how a caller authenticates (#23), so Swagger UI's "Authorize" works:
an API key as a bearer token and the console's session cookie; every operation but a provider's signed webhook
lists them."""

import pytest

from recaudo.services import openapi_of
from recaudo_common.sessions import SESSION_COOKIE

pytestmark = pytest.mark.unit
SERVICES = ("ingest", "segmentation", "outreach", "payments", "reporting")


@pytest.mark.parametrize("service", SERVICES)
def test_the_document_declares_the_key_and_the_session_and_operations_use_them(service: str) -> None:
    document = openapi_of(service)
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKey"]["type"] == "http" and schemes["apiKey"]["scheme"] == "bearer"
    assert schemes["session"] == {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                                  "description": schemes["session"]["description"]}
    operations = {(method.upper(), path): op for path, item in document["paths"].items()
                  for method, op in item.items()}
    assert operations
    for (method, path), op in operations.items():
        if "security" not in op:  # only a provider's notification: its signature, checked by the route
            assert path.startswith("/v1/webhooks/"), (method, path)
            continue
        assert op["security"] == [{"apiKey": []}, {"session": []}], (method, path)
    assert sum("security" in op for op in operations.values()) > len(operations) / 2
