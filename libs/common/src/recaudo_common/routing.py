"""The route every service declares (`APIRouter(route_class=AuthorisedFirstRoute)`): a JSON body that does not parse
is judged after the route's dependencies, like any other body the route refuses, so a caller without the right to
the route (another client company's key, the wrong role) is told 403 or 404, never 422, whatever it sends.

FastAPI parses a JSON body before it solves the route's dependencies and answers a syntax error at once (422; 400
when the bytes are not UTF-8 or nest too deeply): the refusal of the body would come before the refusal of the
caller. Here the parse error is kept in the request's scope and the route is given the raw bytes as its body, as
FastAPI gives it a body sent as another content type. No JSON body's schema takes them (a route whose body would is
refused when it is declared), so once the dependencies have let the caller through its validation fails, and the
problem handler (recaudo_common.errors) answers the parse error as FastAPI would have. The caller is still
authenticated before any of its body is read (recaudo_common.gate)."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response, params
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from fastapi._compat import ModelField

UNPARSED_BODY = "recaudo.unparsed_body"  # the scope's key for the parse error: the problem details' one error


class _ParsedAfterDependencies(Request):
    async def json(self) -> Any:
        try:
            return await super().json()
        except json.JSONDecodeError as e:  # the error FastAPI itself gives a syntax error
            self.scope[UNPARSED_BODY] = {"loc": ["body", str(e.pos)], "msg": "JSON decode error",
                                         "type": "json_invalid"}
        except (ValueError, RecursionError):  # not UTF-8, or nested past the parser's depth
            self.scope[UNPARSED_BODY] = {"loc": ["body"], "type": "json_invalid",
                                         "msg": "the body is not JSON (not UTF-8, or nested too deeply)"}
        return await self.body()


class AuthorisedFirstRoute(APIRoute):
    """An APIRoute whose JSON body, when it does not parse, is refused only after its dependencies ran."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if taken := _takes_raw_bytes(self):
            raise TypeError(f"{path}: its body would take {taken}; a body that is not JSON must fail its schema")

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def parsed_after_dependencies(request: Request) -> Response:
            # The same request object, so the exception handlers (which hold it) read the same scope; the subclass
            # changes only how json() fails. Nothing of the body has been read yet.
            request.__class__ = _ParsedAfterDependencies
            return await handler(request)

        return parsed_after_dependencies


# Bodies that do not parse as JSON, some of which a lax schema would take as a value of its own type (a `str`,
# an `int` from "012", a date, a UUID from 16 bytes): no route's body may take any of them.
NOT_JSON_SAMPLES = (b"\x00", b"012", b'{"v": ', b"2026-12-06", b"0123456789abcdef")


def _body_params(dependant: Dependant) -> list[ModelField]:
    """The body parameters of the route and of every dependency it has, as FastAPI reads the body for them."""
    return [*dependant.body_params, *(p for sub in dependant.dependencies for p in _body_params(sub))]


def _takes_raw_bytes(route: APIRoute) -> str | None:
    """What of a JSON body that did not parse the route would take as valid (None: nothing). FastAPI validates a
    body with from_attributes, so only exact bytes are refused by a model whose fields all have defaults; a `str`
    or `Any` body would take them; an embedded body (several body parameters) looks up each by name and gives an
    optional one its default. A form's body is never parsed as JSON."""
    body_params, body_field = _body_params(route.dependant), route.body_field
    if body_field is None or not body_params or isinstance(body_field.field_info, params.Form):
        return None
    if len({p.name for p in body_params}) > 1 or getattr(body_params[0].field_info, "embed", False):
        optional = [p.alias for p in body_params if not p.field_info.is_required()]
        return f"the defaults of its optional parameters {optional}" if optional else None
    taken = [sample for sample in NOT_JSON_SAMPLES if not body_field.validate(sample, {}, loc=("body",))[1]]
    return f"raw bytes ({taken[0]!r})" if taken else None


def routes_not_authorised_first(routes: Iterable[BaseRoute]) -> list[str]:
    """The API routes, in these routes and the routers included in them, that are not AuthorisedFirstRoutes (an
    application refuses to start with any: create_app)."""
    found: list[str] = []
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI keeps an included router as a tree
        if isinstance(included, APIRouter):
            found += routes_not_authorised_first(included.routes)
        elif isinstance(route, APIRoute) and not isinstance(route, AuthorisedFirstRoute):
            found.append(f"{sorted(route.methods or ())} {route.path}")
    return found
