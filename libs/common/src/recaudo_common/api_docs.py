"""The API's documentation page, /docs: Swagger UI served by the service itself (its files come in the
fastapi-offline wheel, so no browser asks a CDN, which production machines cannot count on) under the
Content-Security-Policy of every page (recaudo_common.page_policy)."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from recaudo_common.page_policy import headers, page_blocks, policy

ASSETS = Path(str(importlib.resources.files("fastapi_offline"))) / "static"
STATIC = "/docs/static"
_TYPES = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8", "swagger-ui.css": "text/css; charset=utf-8",
          "favicon.png": "image/png"}


def install_docs(app: FastAPI) -> None:
    """/docs (Swagger UI on the app's /openapi.json), its files under /docs/static/, and /redoc sending to /docs.

    One documentation page, not two: ReDoc, run under this policy in Chromium, needs a worker made from a blob:,
    a <style> it writes as it runs and its logo from Redocly's CDN; Swagger UI needs nothing beyond its own files,
    its one inline script (FastAPI's, which starts it) allowed by hash, and data: images (its icons). The API is
    authenticated by bearer keys, so Swagger UI's OAuth2 redirect page has nothing to do and is not served."""
    assert app.openapi_url is not None and app.docs_url is None and app.redoc_url is None
    page = get_swagger_ui_html(
        openapi_url=app.openapi_url, title=f"{app.title} · API", swagger_js_url=f"{STATIC}/swagger-ui-bundle.js",
        swagger_css_url=f"{STATIC}/swagger-ui.css", swagger_favicon_url=f"{STATIC}/favicon.png",
        oauth2_redirect_url=None, swagger_ui_parameters=app.swagger_ui_parameters).body
    html = bytes(page).decode()
    styles, scripts = page_blocks(html)
    # no-referrer: the page names nothing private, yet nothing of ours need ever follow a click from it.
    page_headers = headers(policy(styles=styles, scripts=scripts, more=["img-src 'self' data:"]))

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(html, headers=page_headers)

    @app.get(STATIC + "/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        if name not in _TYPES:
            return Response(status_code=404)
        # A day in caches: a new fastapi-offline comes with a new deploy, and the page names the files alike.
        return FileResponse(ASSETS / name, media_type=_TYPES[name],
                            headers={"cache-control": "public, max-age=86400", "x-content-type-options": "nosniff"})

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> RedirectResponse:
        return RedirectResponse("/docs", status_code=307)
