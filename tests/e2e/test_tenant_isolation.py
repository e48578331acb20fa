"""Tenant isolation, walked route by route: with banco-andino's portfolio, payments and contacts in place, every
operation of every service's OpenAPI is called with telco-azteca's client key and with the SRE key, with bodies
schemathesis generates from the schema and path parameters pointing at banco-andino's own records. No answer may
carry banco-andino's data or any debtor's personal data. The same walk with an operator key does find that data,
so the check is one that can fail."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import io
import itertools
import json
import uuid
import warnings
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis.errors import NonInteractiveExampleWarning

from recaudo.services import BUILDERS, openapi_of
from recaudo_common.testing import RunningPlatform, eventually, platform_in_own_database

pytestmark = pytest.mark.e2e
OPERATOR_KEY = "rk_isolation_operator_key_01234567"
DEBTORS: list[tuple[str, str, str, str, str]] = [("B-001", "1019283746", "Marisol Quintero Vargas", "3001239876", "marisol.quintero@correo.co"),
           ("B-002", "79555123", "Hernando Patiño Ruiz", "3157654321", "hpatino@correo.co"),
           ("B-003", "52444987", "Yolanda Ceballos Mora", "3204567788", "yceballos@correo.co")]
CSV = "Número Obligación;Cédula;Nombre Completo;Celular;Correo;Saldo Total;Días Mora\n" + "".join(
    f"{ref};{cedula};{name};{phone};{email};{(i + 1) * 250000};{20 + 30 * i}\n"
    for i, (ref, cedula, name, phone, email) in enumerate(DEBTORS)) + \
    "B-004;88123456;Rodrigo Salcedo Díaz;3009998877;rsalcedo@correo.co;no es un saldo;15\n"  # rejected, kept raw
DEBTORS.append(("B-004", "88123456", "Rodrigo Salcedo Díaz", "3009998877", "rsalcedo@correo.co"))
# What must never reach another client company or the SRE: names, IDs, phones, e-mails, the company itself.
SECRETS = ["Banco Andino", *[d[1] for d in DEBTORS], *[d[2] for d in DEBTORS], *[d[3][-7:] for d in DEBTORS],
           *[d[4] for d in DEBTORS], "Quintero", "Patiño", "Ceballos"]
EXAMPLES = 3


@functools.cache
def operations() -> list[tuple[str, Any]]:
    """Every /v1 operation of every service, read once: each service's OpenAPI is built from its code (its app and
    its routes), which took seconds a call, and nothing here changes an operation."""
    found = []
    for service in sorted(BUILDERS):
        document = openapi_of(service)
        document["paths"] = {p: v for p, v in document["paths"].items() if p.startswith("/v1/")}
        for result in schemathesis.openapi.from_dict(document).get_all_operations():
            found.append((service, result.ok()))
    return found


@pytest.fixture(scope="module")
async def world(postgres_server_url: str, template_database: str,
                tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[RunningPlatform, dict[str, str]]]:
    async with platform_in_own_database(postgres_server_url, template_database, "isolation",
                                        tmp_path_factory.mktemp("isolation"), OPERATOR_KEY) as platform:
        yield platform, await populate(platform)


async def populate(platform: RunningPlatform) -> dict[str, str]:
    """banco-andino with debtors, a payment and a logged call; telco-azteca with its own key; an SRE key."""
    async with platform.client() as operator:
        for body in ({"slug": "banco-andino", "name": "Banco Andino S.A.", "country": "CO", "currency": "COP",
                      "timezone": "America/Bogota", "locale": "es-CO"},
                     {"slug": "telco-azteca", "name": "Telco Azteca", "country": "MX", "currency": "MXN",
                      "timezone": "America/Mexico_City", "locale": "es-MX"}):
            assert (await operator.post("/v1/clients", json=body)).status_code == 201
        telco = (await operator.post("/v1/keys", json={"role": "client", "client": "telco-azteca"})).json()["key"]
        sre = (await operator.post("/v1/keys", json={"role": "sre"})).json()["key"]
        upload = await operator.post("/v1/clients/banco-andino/portfolios",
                                     files={"file": ("cartera.csv", CSV.encode(), "text/csv")})
        assert upload.status_code == 202, upload.text

        async def segmented() -> bool:
            view = await operator.get("/v1/clients/banco-andino/accounts/B-001")
            return view.status_code == 200 and bool(view.json().get("why"))

        await eventually(segmented, timeout_s=90, message="banco-andino's accounts placed and segmented")

        async def paid() -> dict[str, Any] | None:
            answer = await operator.post("/v1/clients/banco-andino/payments",
                                         headers={"Idempotency-Key": str(uuid.uuid4())},
                                         json={"account_ref": "B-002", "amount": "10000.00", "method": "cash",
                                               "paid_at": dt.datetime.now(dt.UTC).isoformat()})
            body: dict[str, Any] = answer.json()
            return body if body.get("status") == "applied" else None

        payment = await eventually(paid, timeout_s=60, message="a payment applied")
        called = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        logged = await operator.post("/v1/clients/banco-andino/accounts/B-003/contacts", json={
            "channel": "voice", "at": called.isoformat(), "outcome": "promise_to_pay",
            "promise": {"amount": "50000", "due_date": (called + dt.timedelta(days=10)).date().isoformat()}})
        assert logged.status_code == 201, logged.text
    return {"telco": telco, "sre": sre, "portfolio_id": upload.json()["id"], "payment_id": payment["id"]}


def banco_parameters(ids: dict[str, str]) -> dict[str, str]:
    return {"slug": "banco-andino", "account_ref": "B-001", "portfolio_id": ids["portfolio_id"],
            "payment_id": ids["payment_id"], "file_id": ids["payment_id"], "name": "core", "channel": "sms",
            "locale": "es-CO", "hold": "dispute", "gateway": "sandbox", "provider": "sandbox",
            "key_id": str(uuid.uuid4())}


def aimed_at_banco(case: Any, overrides: dict[str, str]) -> Any:
    """A generated request with its path parameters pointing at banco-andino's own records."""
    for name in list(case.path_parameters or {}):
        if name in overrides:
            case.path_parameters[name] = overrides[name]
    return case


def readable(content: bytes) -> str:
    """A body as text to search, an XLSX export unzipped first (its cells are compressed XML)."""
    if content.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    return content.decode("utf-8", "replace")


def walk(base_url: str, key: str, ids: dict[str, str], *, skip: tuple[str, ...] = ()) -> list[tuple[str, int, str]]:
    """Every operation, a few generated requests each, aimed at banco-andino: (operation, status, body)."""
    answers = []
    overrides = banco_parameters(ids)
    session = requests.Session()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
        for _, operation in operations():
            if operation.path in skip:
                continue
            strategy = operation.as_strategy()
            for _ in range(EXAMPLES):
                case = aimed_at_banco(strategy.example(), overrides)
                if isinstance(case.query, dict) and "client" in case.query:
                    case.query["client"] = "banco-andino"
                if isinstance(case.body, dict) and "client" in case.body:
                    case.body["client"] = "banco-andino"
                response = case.call(base_url=base_url, session=session, timeout=60,
                                     headers={"Authorization": f"Bearer {key}"})
                answers.append((f"{case.method} {operation.path}", response.status_code, readable(response.content)))
    return answers


async def test_no_other_client_and_no_sre_sees_banco_andinos_data(
        world: tuple[RunningPlatform, dict[str, str]]) -> None:
    platform, ids = world
    leaks: list[str] = []
    for who in ("telco", "sre"):
        answers = await asyncio.to_thread(walk, platform.base_url, ids[who], ids)
        assert len({a[0] for a in answers}) == len(operations())  # every operation of every service was called
        for operation, status, text in answers:
            assert status < 500, (who, operation, status, text[:300])
            leaked = [s for s in SECRETS if s in text]
            if leaked:
                leaks.append(f"{who} {operation} -> {status}: {leaked}")
    assert not leaks, "\n".join(leaks)


# What an operator reads of banco-andino: none of it may change when another client company writes to it.
BANCO_STATE = ["/v1/clients/banco-andino", "/v1/clients/banco-andino/contact-rules", "/v1/clients/banco-andino/templates",
               "/v1/clients/banco-andino/strategy", "/v1/clients/banco-andino/buckets", "/v1/clients/banco-andino/costs",
               "/v1/clients/banco-andino/commission-rates", "/v1/clients/banco-andino/payments/unmatched",
               "/v1/clients/banco-andino/placements/B-001", "/v1/clients/banco-andino/mappings/core",
               "/v1/clients/banco-andino/accounts/B-001/contacts", "/v1/clients/banco-andino/reports/recovery",
               "/v1/keys", "/v1/clients/banco-andino/strategy/versions", "/v1/clients/banco-andino/model",
               "/v1/clients/banco-andino/strategy/experiment"]
UNKEYED = ("/v1/webhooks/",)
# Requests an operator would have had accepted, for the routes whose schema-generated bodies rarely pass their
# own validation (decimal strings, required headers): each is sent first, so every route is tried with a valid one.
VALID = {
    "POST /v1/clients/{slug}/payments": (
        {"Idempotency-Key": "isolation-telco-0001"},
        {"account_ref": "B-001", "amount": "1000.00", "paid_at": "2026-12-01T10:00:00-05:00", "method": "cash"}),
    "POST /v1/clients/{slug}/accounts/{account_ref}/arrangements": (
        {}, {"kind": "settlement", "instalments": [{"amount": "100000.00", "due_date": "2027-01-15"}]}),
    "PUT /v1/clients/{slug}/commission-rates": ({}, {"rates": {"1-30": "0.10"}, "default": "0.15"}),
    "PUT /v1/clients/{slug}/costs": ({}, {"costs": {"sms": "80.00"}}),
    "PUT /v1/clients/{slug}/buckets": ({}, {"buckets": [{"label": "todo", "low": -365, "high": 36500}]}),
    "PUT /v1/clients/{slug}/strategy": ({}, {"tiers": {"high": "1000000", "medium": "100000"}, "rules": [
        {"bucket": "1-30", "tier": "high", "treatment": "suave", "channels": ["sms"]}]}),
    "PUT /v1/clients/{slug}/contact-rules": ({}, {"daily_limit": 1}),
    "POST /v1/clients/{slug}/payments/{payment_id}/reversal": ({"Idempotency-Key": "isolation-telco-reversal-0001"},
                                                               None),
}  # signed by a provider, not by an API key: their own tests forge them


def write_operations() -> list[Any]:
    return [op for _, op in operations() if op.method.upper() in ("POST", "PUT", "PATCH", "DELETE")
            and not op.path.startswith(UNKEYED)]


def state_of_banco(base_url: str) -> dict[str, Any]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {OPERATOR_KEY}"
    state = {path: (answer.status_code, answer.json()) for path in BANCO_STATE
             for answer in [session.get(base_url + path, timeout=60)]}
    report = state["/v1/clients/banco-andino/reports/recovery"]
    state["/v1/clients/banco-andino/reports/recovery"] = (report[0], report[1]["totals"])  # not the moment it was asked
    return state


async def stable_state_of_banco(base_url: str) -> dict[str, Any]:
    """What an operator reads of banco-andino once it has stopped changing: the earlier walks' own writes (the
    operator's are accepted) are still being carried through the services for a while."""
    last: dict[str, Any] = {}

    async def unchanged() -> dict[str, Any] | None:
        nonlocal last
        current = await asyncio.to_thread(state_of_banco, base_url)
        same = current == last
        last = current
        return current if same else None

    return await eventually(unchanged, timeout_s=120, interval_s=3, message="banco-andino's state settled")


def write_as(base_url: str, key: str, ids: dict[str, str]) -> dict[str, list[int]]:
    """Every write route, aimed at banco-andino's records with schema-valid bodies: the statuses each answered."""
    overrides = banco_parameters(ids)
    session = requests.Session()
    statuses: dict[str, list[int]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
        for operation in write_operations():
            strategy = operation.as_strategy()
            name_of = f"{operation.method.upper()} {operation.path}"
            for index in range(EXAMPLES + 1):
                if index == 0 and name_of not in VALID:
                    continue  # before drawing a case: a draw is most of a request's time here
                case = aimed_at_banco(strategy.example(), overrides)
                headers = {"Authorization": f"Bearer {key}"}
                if index == 0:
                    extra, case.body = VALID[name_of]
                    headers.update(extra)
                if isinstance(case.body, dict) and "client" in case.body:
                    case.body["client"] = "banco-andino"
                response = case.call(base_url=base_url, session=session, timeout=60, headers=headers)
                statuses.setdefault(name_of, []).append(response.status_code)
    return statuses


async def test_every_write_route_refuses_another_client_company_and_changes_nothing(
        world: tuple[RunningPlatform, dict[str, str]]) -> None:
    """telco-azteca's key (and the SRE's) writing to banco-andino: every write route answers 403 or 404 (where the
    body names the company, a body its schema refuses may be answered 422 first) and never 2xx, and everything an operator reads of banco-andino
    is as it was. It runs before the operator's walk, whose accepted writes re-segment and re-plan the accounts."""
    platform, ids = world
    before = await stable_state_of_banco(platform.base_url)
    assert before["/v1/clients/banco-andino"][0] == 200
    for who in ("telco", "sre"):
        statuses = await asyncio.to_thread(write_as, platform.base_url, ids[who], ids)
        assert len(statuses) == len(write_operations()) >= 20
        accepted = {op: codes for op, codes in statuses.items() if any(c < 300 or c >= 500 for c in codes)}
        assert not accepted, f"{who} wrote to banco-andino: {accepted}"
        refused = {op for op, codes in statuses.items() if any(c in (403, 404) for c in codes)}
        assert refused == set(statuses), f"{who}: no 403 or 404 from {sorted(set(statuses) - refused)}"
    assert await stable_state_of_banco(platform.base_url) == before


# The one write route whose body names the client company it is about: who the caller is decides before the body
# is read, but which company it may act for can only be checked once the body says which.
BODY_NAMES_THE_CLIENT = frozenset({"POST /v1/compliance/check"})
JSON = "application/json"
BODIES_NOBODY_TAKES = {  # (the body, its Content-Type)
    "a JSON object no operation's schema takes": (json.dumps({"not_a_field": ["no es un campo"]}).encode(), JSON),
    "not JSON at all": (b'{"not_a_field": ', JSON),  # FastAPI alone would answer 422 before the route's dependencies
    # FastAPI parses a File or Form parameter before the dependencies too (400 for this one): the file routes read
    # their forms themselves (recaudo_common.multipart.read_small_upload).
    "a form that does not parse": (b"--frontera\r\nX-Parte: sin nombre\r\n\r\ndatos\r\n--frontera--\r\n",
                                   "multipart/form-data; boundary=frontera"),
}


def write_paths(ids: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Each write route's (method, path) aimed at banco-andino's records; the parameters that name none of them are
    generated from the schema."""
    overrides = banco_parameters(ids)
    paths: dict[str, tuple[str, str]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonInteractiveExampleWarning)
        for operation in write_operations():
            case = aimed_at_banco(operation.as_strategy().example(), overrides)
            paths[f"{operation.method.upper()} {operation.path}"] = (
                operation.method.upper(), operation.path.format(**(case.path_parameters or {})))
    return paths


def refusals_of_a_body_nobody_takes(base_url: str, key: str, paths: dict[str, tuple[str, str]], body: bytes,
                                    content_type: str) -> dict[str, int]:
    """Every write route aimed at banco-andino (`write_paths`) with a body it refuses and none of its headers: the
    status each answered."""
    session = requests.Session()
    statuses: dict[str, int] = {}
    for name, (method, path) in paths.items():
        response = session.request(method, base_url + path, data=body, timeout=60,
                                   headers={"Authorization": f"Bearer {key}", "Content-Type": content_type})
        statuses[name] = response.status_code
    return statuses


async def test_a_caller_turned_away_is_told_so_before_its_body_is_judged(
        world: tuple[RunningPlatform, dict[str, str]]) -> None:
    """Authorisation comes before the body: telco-azteca's key and the SRE's, sending a body no schema takes, one
    that is not JSON at all, or a form that does not parse, to every write route about banco-andino, are answered 403 or 404, never 422 (nor 400),
    so a caller without the right learns
    nothing of what the route would have taken. Only where the body names the company (BODY_NAMES_THE_CLIENT) may a
    client key that has the role see its body judged first."""
    platform, ids = world
    assert BODY_NAMES_THE_CLIENT <= {f"{op.method.upper()} {op.path}" for op in write_operations()}
    # The same requests for every body and caller: generating them is most of the work (hypothesis draws each).
    paths = await asyncio.to_thread(write_paths, ids)
    for (what, (body, content_type)), who in itertools.product(BODIES_NOBODY_TAKES.items(), ("telco", "sre")):
        statuses = await asyncio.to_thread(refusals_of_a_body_nobody_takes, platform.base_url, ids[who], paths, body,
                                           content_type)
        judged_first = {op: status for op, status in statuses.items() if status not in (403, 404)
                        and not (who == "telco" and op in BODY_NAMES_THE_CLIENT and status == 422)}
        assert not judged_first, f"{who}, {what}: answered before its right was checked: {judged_first}"


async def test_the_walk_does_find_banco_andinos_data_with_an_operator_key(
        world: tuple[RunningPlatform, dict[str, str]]) -> None:
    platform, ids = world
    # The live stream stays open for as long as it is allowed to: for the operator it would never answer.
    answers = await asyncio.to_thread(walk, platform.base_url, OPERATOR_KEY, ids,
                                      skip=("/v1/clients/{slug}/reports/stream",))
    revealing = {operation for operation, status, text in answers if status == 200
                 and any(s in text for s in SECRETS)}
    debtor_data = {operation for operation, status, text in answers if status == 200
                   and any(d[1] in text or d[2] in text for d in DEBTORS)}
    assert "GET /v1/clients/{slug}" in revealing and len(revealing) >= 3, revealing
    assert debtor_data, "no route showed a debtor's name or ID even to the operator"


def test_this_file_walks_every_service() -> None:
    assert {service for service, _ in operations()} == set(BUILDERS)
    assert Path(__file__).name == "test_tenant_isolation.py"
