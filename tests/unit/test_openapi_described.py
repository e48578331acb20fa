"""Every service's OpenAPI document describes each operation and shows an example of each request body (#23) and of
each JSON success answer, and every example it shows is valid for its own schema: Swagger UI's "Try it out" starts
from an example that works, and its reader sees what an answer looks like."""

from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from recaudo.services import openapi_of

pytestmark = pytest.mark.unit
SERVICES = ("ingest", "segmentation", "outreach", "payments", "reporting")
METHODS = ("get", "put", "post", "patch", "delete")
# the keywords under which a JSON Schema holds further schemas, one or a list or a map of them
ONE_SCHEMA = ("items", "additionalProperties", "not", "contains", "propertyNames")
SCHEMA_LIST = ("anyOf", "allOf", "oneOf", "prefixItems")
SCHEMA_MAP = ("properties", "$defs", "patternProperties")


def pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method, path, op


def schema_examples(schema: Any, at: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(where the schema is, an example it gives) for a schema and every schema inside it."""
    if not isinstance(schema, dict):
        return
    for example in schema.get("examples", []) if isinstance(schema.get("examples"), list) else []:
        yield at, example
    if "example" in schema:
        yield at, schema["example"]
    for key in ONE_SCHEMA:
        yield from schema_examples(schema.get(key), (*at, key))
    for key in SCHEMA_LIST:
        for i, inner in enumerate(schema.get(key, [])):
            yield from schema_examples(inner, (*at, key, str(i)))
    for key in SCHEMA_MAP:
        for name, inner in (schema.get(key) or {}).items():
            yield from schema_examples(inner, (*at, key, name))


def media_examples(media: dict[str, Any]) -> list[Any]:
    named = [e["value"] for e in (media.get("examples") or {}).values() if "value" in e]
    return named + ([media["example"]] if "example" in media else [])


def every_example(document: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(where the schema an example must satisfy is, the example) for every example the document shows."""
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        yield from schema_examples(schema, ("components", "schemas", name))
    for method, path, op in operations(document):
        at = ("paths", path, method)
        for i, parameter in enumerate(op.get("parameters", [])):
            yield from schema_examples(parameter.get("schema"), (*at, "parameters", str(i), "schema"))
            for example in media_examples(parameter):
                yield (*at, "parameters", str(i), "schema"), example
        bodies: list[tuple[tuple[str, ...], dict[str, Any]]] = [(("requestBody",), op.get("requestBody") or {})]
        bodies += [(("responses", status), response) for status, response in op.get("responses", {}).items()]
        for where, body in bodies:
            for content_type, media in (body.get("content") or {}).items():
                schema_at = (*at, *where, "content", content_type, "schema")
                for example in media_examples(media):
                    yield schema_at, example


def body_has_an_example(document: dict[str, Any], media: dict[str, Any]) -> bool:
    if media_examples(media):
        return True
    schema = media.get("schema", {})
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return bool(schema.get("examples") or "example" in schema)


def shown(media: dict[str, Any]) -> str:
    """The name of the model a body shows (`[Model]` for an array of it), or `inline` for a schema of its own."""
    schema = media.get("schema", {})
    if schema.get("type") == "array":
        return f"[{shown({'schema': schema.get('items') or {}})}]"
    return str(schema["$ref"].rsplit("/", 1)[-1]) if "$ref" in schema else "inline"


def response_has_an_example(document: dict[str, Any], media: dict[str, Any]) -> bool:
    """`body_has_an_example`, and an array of a model shows the example of its item's component schema."""
    schema = media.get("schema", {})
    if schema.get("type") == "array" and "$ref" in (schema.get("items") or {}):
        return body_has_an_example(document, {"schema": schema["items"]}) or bool(media_examples(media))
    return body_has_an_example(document, media)


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_is_described(service: str) -> None:
    document = openapi_of(service)
    undescribed = [(method.upper(), path) for method, path, op in operations(document)
                   if not (op.get("description") or "").strip()]
    assert undescribed == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_request_body_shows_an_example(service: str) -> None:
    document = openapi_of(service)
    without = [(method.upper(), path, content_type) for method, path, op in operations(document)
               for content_type, media in ((op.get("requestBody") or {}).get("content") or {}).items()
               if not body_has_an_example(document, media)]
    assert without == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_json_response_shows_an_example(service: str) -> None:
    """Every success (2xx) response whose content is application/json shows an example, by `body_has_an_example`'s
    rule: an example on the media, or `examples`/`example` on the component schema it references. A page of a
    model is a `$ref` to its own Page subclass (never the generic `Page[...]`, which cannot carry an example of its
    own item), so the example belongs on that subclass. An array of a model (`type: array, items: {$ref}`) counts
    as shown when the item's component schema has an example: Swagger UI builds the array's example from its
    item's. Error answers (application/problem+json) are not required."""
    document = openapi_of(service)
    without = [(method.upper(), path, status, shown(media)) for method, path, op in operations(document)
               for status, response in op.get("responses", {}).items() if status.startswith("2")
               for content_type, media in (response.get("content") or {}).items()
               if content_type == "application/json" and not response_has_an_example(document, media)]
    assert without == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_example_is_valid_for_its_schema(service: str) -> None:
    """The whole document is the root schema, so an example's schema and every `$ref` in it resolve against the
    document's components (OpenAPI 3.1's schemas are JSON Schema 2020-12)."""
    document = openapi_of(service)
    examples = list(every_example(document))
    assert examples
    invalid = []
    for at, example in examples:
        validator = Draft202012Validator({**document, "$ref": pointer(*at)},
                                         format_checker=Draft202012Validator.FORMAT_CHECKER)
        invalid += [("/".join(at), error.json_path, error.message) for error in validator.iter_errors(example)]
    assert invalid == []


def test_an_example_keeps_its_nulls() -> None:
    """FastAPI drops every null from its document (fastapi/fastapi#5559); in an example a null is what a field with
    nothing in it answers, or what a request sends to clear one, so the document keeps it."""
    schemas = openapi_of("ingest")["components"]["schemas"]
    assert {"clients": None} in schemas["UserChangeIn"]["examples"]
    assert schemas["KeyList"]["examples"][0]["items"][0]["revoked_at"] is None
