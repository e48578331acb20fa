"""The console's shared pieces: one layout (templates/layout.html) every service's /console pages extend, and how a
page is rendered with the headers every console page carries (no framing, no caching, scripts only our own)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from fastapi.responses import HTMLResponse, Response

from recaudo_common.page_policy import headers, policy

_SHARED = jinja2.FileSystemLoader(Path(__file__).parent / "templates")
PAGES = jinja2.Environment(loader=_SHARED, autoescape=True)
# The console's pages keep 'unsafe-inline' styles (each service's templates have their own <style> blocks and a few
# style attributes); their scripts are files of ours only.
PAGE_HEADERS = headers(policy(styles=["'unsafe-inline'"]), referrer="same-origin")


def pages_of(folder: Path) -> jinja2.Environment:
    """A service's own console templates, which extend the shared layout ("layout.html")."""
    return jinja2.Environment(loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(folder), _SHARED]),
                              autoescape=True)


def page(template: str, *, status: int = 200, headers: dict[str, str] | None = None,
         pages: jinja2.Environment = PAGES, layout: Mapping[str, str | None] | None = None,
         **context: Any) -> HTMLResponse:
    """A console page in Spanish, rendered from `template` (in `pages`: the shared ones, or a service's own from
    `pages_of`) with the shared headers; `layout` is what the shared header shows (`Visitor.layout()`)."""
    body = pages.get_template(template).render(**(layout or {}), **context)
    return HTMLResponse(body, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})


def script(path: Path) -> Response:
    """A page's own script, a static file of its service (the console's CSP runs no inline script), read again on
    each request so a deploy never serves a stale copy."""
    return Response(path.read_bytes(), media_type="application/javascript",
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})
