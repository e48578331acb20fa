"""The console's shared pieces: one layout (templates/layout.html) every service's /console pages extend, and how a
page is rendered with the headers every console page carries (no framing, no caching, scripts and styles only our
own: the templates' <style> blocks allowed by their hashes, never 'unsafe-inline')."""

from __future__ import annotations

import dataclasses
import functools
import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from fastapi.responses import HTMLResponse, Response

from recaudo_common.money import MARKS, MINOR_UNITS, amount_style
from recaudo_common.page_policy import headers, inline_blocks, policy

_SHARED = Path(__file__).parent / "templates"
# The script that writes amounts as the server does (window.recaudoAmounts), one file every service serves under
# its own pages' prefix (the gateway routes each prefix to one service), loaded before the page's own script.
AMOUNTS_SCRIPT = Path(__file__).parent / "amounts.js"


class Pages(jinja2.Environment):
    """Console templates and the headers their pages answer with: the policy allows exactly the <style> (and
    <script>) blocks of these templates, by hash; a style attribute is never allowed (see tests/unit/
    test_page_markup.py), so a page styles itself through its blocks' classes."""

    def __init__(self, *folders: Path) -> None:
        super().__init__(loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(f) for f in folders]), autoescape=True)
        styles, scripts = inline_blocks(*(t for folder in folders for t in sorted(folder.glob("*.html"))))
        # same-origin: a console's URLs name client companies and accounts, which no other site is told.
        self.headers = headers(policy(styles=styles, scripts=scripts), referrer="same-origin")


PAGES = Pages(_SHARED)


def pages_of(folder: Path) -> Pages:
    """A service's own console templates, which extend the shared layout ("layout.html")."""
    return Pages(folder, _SHARED)


def page(template: str, *, status: int = 200, headers: dict[str, str] | None = None, pages: Pages = PAGES,
         layout: Mapping[str, str | None] | None = None, **context: Any) -> HTMLResponse:
    """A console page in Spanish, rendered from `template` (in `pages`: the shared ones, or a service's own from
    `pages_of`) with their headers; `layout` is what the shared header shows (`Visitor.layout()`)."""
    body = pages.get_template(template).render(**(layout or {}), **context)
    return HTMLResponse(body, status_code=status, headers={**pages.headers, **(headers or {})})


def script(path: Path) -> Response:
    """A page's own script, a static file of its service (the console's CSP runs no inline script), read again on
    each request so a deploy never serves a stale copy."""
    return Response(path.read_bytes(), media_type="application/javascript",
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


def amounts_style(currency: str, locale: str) -> str:
    """The data-amounts attribute of a page whose script writes amounts: how format_amount writes `currency` in
    `locale` (money.amount_style), as JSON for amounts.js."""
    return json.dumps(dataclasses.asdict(amount_style(currency, locale)), ensure_ascii=False)


@functools.cache
def every_amounts_style() -> str:
    """The data-amounts attribute's value, escaped for single quotes, of a page that learns its client company only
    in the browser (the dashboard, where a key may be typed in): the style of every locale and currency the
    product takes, keyed "locale currency" (es-CO COP), as JSON for amounts.js. About 19 kB, which no tenant's
    data is in; a double-quoted attribute would double it."""
    styles = {f"{locale} {currency}": dataclasses.asdict(amount_style(currency, locale))
              for locale in sorted(MARKS) for currency in sorted(MINOR_UNITS)}
    text = json.dumps(styles, ensure_ascii=False, separators=(",", ":"))
    return html.escape(text, quote=False).replace("'", "&#x27;")
