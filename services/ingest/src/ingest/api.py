"""Ingest's HTTP API: one module-level router (prefix /v1, tag ingest) over its features' routes: client companies,
portfolio uploads, placed accounts and their search, rectification of a debtor's contact points. Thin: each route
checks the request's shape and calls its feature's handlers."""

from fastapi import APIRouter

from ingest.account_search import routes as account_search
from ingest.accounts import routes as accounts
from ingest.clients import routes as clients
from ingest.rectification import routes as rectification
from ingest.uploads import routes as uploads
from recaudo_common.routing import AuthorisedFirstRoute

# A route with a second path parameter names `{slug}` first too (the client dependency checks it), so the OpenAPI
# lists the path's parameters in the path's order.
router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1", tags=["ingest"])
for feature in (clients, uploads, accounts, account_search, rectification):
    router.include_router(feature.router)
