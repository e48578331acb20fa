"""The Gateway API objects of deploy/k8s (`recaudo deploy k8s`): one Gateway (HTTPS, and HTTP redirected to it) and
an HTTPRoute per service whose matches are that service's paths, read from its OpenAPI document, plus the pages it
serves outside the API (the debtor page, checkout, the dashboard, the console)."""

from __future__ import annotations

import re
from typing import Any

GATEWAY_API = "gateway.networking.k8s.io/v1"
GATEWAY = "recaudo"
# The GatewayClass the operator's Gateway API implementation installs (Envoy Gateway's quickstart names it `eg`);
# the overlay changes it for another implementation.
GATEWAY_CLASS = "eg"
HOST = "recaudo.example.com"
TLS_SECRET = "recaudo-tls"  # noqa: S105 - the Secret's name, not a secret
# Gateway API's own limits (the HTTPRoute CRD's maxItems): a route past them is refused by the API server.
MAX_RULES, MAX_MATCHES = 16, 64
# Pages outside the API (not in the OpenAPI documents), by the service that serves them: the debtor page and the
# e-mail unsubscribe link (outreach), the checkout and its outcome page (payments, where gateways return the
# debtor), the dashboard (reporting), the people's console and its sign-in (ingest mounts identity).
PAGES = {"ingest": ("/console",), "outreach": ("/pay", "/u", "/console/agent", "/console/settings"),
         "payments": ("/checkout", "/console/payments"), "reporting": ("/dashboard",),
         "segmentation": ("/console/strategy",)}
# The gateway listens for these Gateway API labels on its own pods (GEP-1762: an implementation that deploys
# the Gateway in the cluster labels its pods with the Gateway's name), which the network policies let in.
GATEWAY_POD_LABEL = "gateway.networking.k8s.io/gateway-name"


def route_regex(path: str) -> str:
    """An OpenAPI path template as an anchored regular expression: each parameter one path segment."""
    parts = re.split(r"(\{[^}]+\})", path)
    return "^" + "".join("[^/]+" if p.startswith("{") else re.escape(p).replace("\\-", "-") for p in parts) + "$"


def path_match(template: str) -> dict[str, str]:
    """Exact for a path without parameters. A parameter may sit anywhere (/v1/clients/{slug}/strategy goes to
    segmentation, .../{slug}/portfolios to ingest), which neither Exact nor PathPrefix can say, so a template
    with parameters is a RegularExpression match of exactly its own paths (every implementation of note
    supports them; none of these overlaps another service's, which the tests check)."""
    if "{" not in template:
        return {"type": "Exact", "value": template}
    return {"type": "RegularExpression", "value": route_regex(template)}


def long_running(operation: dict[str, Any]) -> bool:
    """An upload (multipart) or a server-sent event stream: the request lasts as long as the file or the stream."""
    requests = (operation.get("requestBody") or {}).get("content", {})
    responses = [c for r in operation.get("responses", {}).values() for c in (r.get("content") or {})]
    return "multipart/form-data" in requests or "text/event-stream" in responses


def _chunks(items: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def service_routes(service: str, openapi: dict[str, Any], labels: dict[str, str]) -> list[dict[str, Any]]:
    """The HTTPRoutes of one service: its API paths (uploads and streams in a rule without a request timeout)
    and its pages, as many routes as Gateway API's limits need."""
    quick: list[dict[str, Any]] = []
    slow: list[dict[str, Any]] = []
    for path, operations in sorted(openapi["paths"].items()):
        if not path.startswith("/v1/"):
            continue
        for method, operation in sorted(operations.items()):
            if isinstance(operation, dict) and long_running(operation):
                slow.append({"path": path_match(path), "method": method.upper()})
        quick.append({"path": path_match(path)})
    quick += [{"path": {"type": "PathPrefix", "value": page}} for page in PAGES.get(service, ())]
    def backend() -> list[dict[str, Any]]:
        return [{"name": f"recaudo-{service}", "port": 80}]

    rules: list[dict[str, Any]] = [{"matches": m, "backendRefs": backend()} for m in _chunks(quick, MAX_MATCHES)]
    # A method-and-path match outranks a path-only one, so the upload or stream gets this rule's timeouts.
    rules += [{"matches": m, "backendRefs": backend(), "timeouts": {"request": "0s"}}
              for m in _chunks(slow, MAX_MATCHES)]
    routes = []
    for i, some in enumerate(_chunks(rules, MAX_RULES)):
        name = f"recaudo-{service}" + (f"-{i + 1}" if i else "")
        routes.append({"apiVersion": GATEWAY_API, "kind": "HTTPRoute",
                       "metadata": {"name": name, "labels": {**labels, "app.kubernetes.io/name": name,
                                                             "app.kubernetes.io/component": service}},
                       "spec": {"parentRefs": [{"name": GATEWAY, "sectionName": "https"}], "hostnames": [HOST],
                                "rules": some}})
    return routes


def gateway(labels: dict[str, str]) -> list[dict[str, Any]]:
    """The Gateway (TLS ends here with the Secret recaudo-tls; plain HTTP only redirects to HTTPS)."""
    def meta(name: str) -> dict[str, Any]:
        return {"name": name, "labels": {**labels, "app.kubernetes.io/name": name,
                                         "app.kubernetes.io/component": "gateway"}}

    return [
        {"apiVersion": GATEWAY_API, "kind": "Gateway", "metadata": meta(GATEWAY),
         "spec": {"gatewayClassName": GATEWAY_CLASS, "listeners": [
             {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": HOST,
              "allowedRoutes": {"namespaces": {"from": "Same"}},
              "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": TLS_SECRET}]}},
             {"name": "http", "protocol": "HTTP", "port": 80, "hostname": HOST,
              "allowedRoutes": {"namespaces": {"from": "Same"}}}]}},
        {"apiVersion": GATEWAY_API, "kind": "HTTPRoute", "metadata": meta(f"{GATEWAY}-https-redirect"),
         "spec": {"parentRefs": [{"name": GATEWAY, "sectionName": "http"}], "hostnames": [HOST],
                  "rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": {
                      "scheme": "https", "statusCode": 301}}]}]}},
    ]
