"""The bad-input corpus: every case in tests/corpus/*.yaml is sent to the whole platform (its own process, over
real HTTP and PostgreSQL) and must answer its 4xx with its stable problem code; none may answer a 5xx; and what
the platform had accepted before (an upload, its accounts, a payment) is all still there afterwards.

A case's `values` expand it into one case per value ("$VALUE" is replaced by the value, "$INDEX" by its
position, a "$MERGE" key merges the value into its object). Generators make the big and binary inputs at test
time, so the repository holds no 256 MB zip bomb."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from recaudo_common.settings import DEV_SANDBOX_SECRET
from recaudo_common.testing import (
    RunningPlatform,
    eventually,
    place_portfolio,
    platform_in_own_database,
    stream_request,
)
from recaudo_common.webhook_signatures import sign

from .generators import FILE_GENERATORS, GOOD_CSV, VALUE_GENERATORS

pytestmark = pytest.mark.e2e
HERE = Path(__file__).parent
OPERATOR_KEY = "rk_corpus_operator_key_0123456789"
CODE = re.compile(r"^[a-z][a-z0-9_]*$")


# --- the corpus -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    request: dict[str, Any]
    status: int
    code: str


def _substitute(template: Any, value: Any, index: int) -> Any:
    if template == "$VALUE":
        return value
    if isinstance(template, str):
        return template.replace("$VALUE", str(value)).replace("$INDEX", f"{index:04d}")
    if isinstance(template, list):
        return [_substitute(t, value, index) for t in template]
    if isinstance(template, dict):
        out: dict[str, Any] = {}
        for k, v in template.items():
            if k == "$MERGE":
                out.update(_substitute(v, value, index))
            else:
                out[k] = _substitute(v, value, index)
        return out
    return template


def _evaluate(value: Any) -> Any:
    """Values like [repeat, "A", 10000] become the long strings they describe."""
    if isinstance(value, list) and value and isinstance(value[0], str) and value[0] in VALUE_GENERATORS:
        return VALUE_GENERATORS[value[0]](*value[1:])
    if isinstance(value, list):
        return [_evaluate(v) for v in value]
    if isinstance(value, dict):
        return {k: _evaluate(v) for k, v in value.items()}
    return value


def load_corpus(*, rows: bool = False) -> list[Case]:
    """The cases answered with a 4xx and its code; with `rows`, instead, the uploads accepted whose row must be
    rejected with `row_rejection`'s code (their `code` is "field:code" and `status` the row's number)."""
    cases: list[Case] = []
    for path in sorted(HERE.glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")):
            if ("row_rejection" in entry["expect"]) != rows:
                continue
            values = entry.get("values", [None])
            for index, value in enumerate(values):
                name = f"{path.stem}/{entry['id']}" + (f"[{index}]" if "values" in entry else "")
                request = _evaluate(_substitute(entry["request"], value, index))
                if rows:
                    rejection = entry["expect"]["row_rejection"]
                    cases.append(Case(name, request, rejection["row"], f"{rejection['field']}:{rejection['code']}"))
                else:
                    cases.append(Case(name, request, entry["expect"]["status"], entry["expect"]["code"]))
    return cases


CASES = load_corpus()
ROW_CASES = load_corpus(rows=True)


def test_the_corpus_has_at_least_200_cases() -> None:
    assert len(CASES) >= 200, len(CASES)
    assert len({c.id for c in CASES}) == len(CASES)


# --- sending a case ---------------------------------------------------------------------------------------------

@dataclass
class Keys:
    operator: str
    client: str
    other_client: str
    sre: str


def _body_of(request: dict[str, Any]) -> tuple[bytes | None, bool]:
    if "json" in request:
        return json.dumps(request["json"]).encode(), False
    if "raw" in request:
        return str(request["raw"]).encode("utf-8", "surrogatepass"), False
    if "raw_b64" in request:
        return base64.b64decode(request["raw_b64"]), False
    if "body" in request:
        name, *args = request["body"]
        made = FILE_GENERATORS[name](*args)
        return made if isinstance(made, tuple) else (made, False)
    return None, False


def _file_of(spec: dict[str, Any]) -> tuple[str, bytes]:
    if "content" in spec:
        return spec["name"], str(spec["content"]).encode("utf-8", "surrogatepass")
    if "content_b64" in spec:
        return spec["name"], base64.b64decode(spec["content_b64"])
    name, *args = spec["generate"]
    return spec["name"], FILE_GENERATORS[name](*args)


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 256 * 1024):
        yield body[start:start + 256 * 1024]


async def lying_length(http: httpx.AsyncClient, request: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    """A request that declares a body far larger than it sends (no HTTP client library will send one)."""
    url = httpx.URL(str(http.base_url))
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        lines = [f"{request['method']} {request['path']} HTTP/1.1", f"Host: {url.host}",
                 f"Content-Type: {request['content_type']}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        writer.write("\r\n".join(lines).encode() + str(request.get("raw", "")).encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        status = int(head.split()[1])
        response_headers = dict(line.split(": ", 1) for line in head.decode().strip().split("\r\n")[1:])
        length = int(response_headers.get("content-length", "0"))
        content = await asyncio.wait_for(reader.readexactly(length), 30)
        return httpx.Response(status, headers=response_headers, content=content)
    finally:
        writer.close()


STREAMED_ABOVE = 1024**2


async def streamed(http: httpx.AsyncClient, request: dict[str, Any], headers: dict[str, str], body: bytes,
                   chunked: bool) -> httpx.Response:
    """A large body is sent the way a browser sends it, reading the answer while sending: the platform refuses
    one it will not take (no key, over its cap) before reading it, and closes the connection after its answer."""
    answer = await stream_request(str(http.base_url), request["method"], request["path"], headers, _chunks(body),
                                  chunked=chunked, length=len(body))
    return httpx.Response(answer.status, headers=answer.headers, content=answer.body)


async def send(http: httpx.AsyncClient, case: Case, keys: Keys) -> httpx.Response:
    request = case.request
    headers = {k: str(v) for k, v in (request.get("headers") or {}).items() if v is not None}
    key = request.get("key", "operator")
    if key != "none" and "Authorization" not in headers:
        headers["Authorization"] = f"Bearer {getattr(keys, key)}"
    if "content-length" in headers:
        return await lying_length(http, request, headers)
    kwargs: dict[str, Any] = {}
    big: tuple[bytes, bool] | None = None
    if "file" in request or "form" in request:
        if "file" in request:
            kwargs["files"] = {"file": _file_of(request["file"])}
        kwargs["data"] = {k: str(v) for k, v in (request.get("form") or {}).items()}
        if "file" not in request:
            kwargs["files"] = {"unused": ("", b"")}  # multipart, but without the file part
    else:
        body, chunked = _body_of(request)
        if body is not None:
            if "sign" in request:
                spec = request["sign"]
                secret = DEV_SANDBOX_SECRET if spec["secret"] == "sandbox" else spec["secret"]
                at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=spec["at"])
                headers["Recaudo-Signature"] = sign(body, secret, at)
                if "digest" in spec:  # a current timestamp with another digest (one that is not even ASCII)
                    headers["Recaudo-Signature"] = headers["Recaudo-Signature"].split(",v1=")[0] + ",v1=" + \
                        spec["digest"]
                if spec.get("tamper"):
                    body = body.replace(b'"10.00"', b'"10000.00"')
            kwargs["content"] = _chunks(body) if chunked else body
            big = (body, chunked) if len(body) > STREAMED_ABOVE else None
            headers.setdefault("Content-Type", request.get("content_type", "application/json"))
            if "content_type" in request:
                headers["Content-Type"] = request["content_type"]
    if big is not None:
        return await streamed(http, request, headers, *big)
    raw_headers = {k: v.encode("utf-8") for k, v in headers.items()}  # UTF-8 on purpose: some cases are not ASCII
    # Bytes that are not UTF-8 at all (a lone 0xff): base64 in the case, sent as they are (h11 allows obs-text).
    raw_headers.update({k: base64.b64decode(v) for k, v in (request.get("headers_b64") or {}).items()})
    return await http.request(request["method"], request["path"], headers=raw_headers, **kwargs)


# --- the run ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
async def platform(postgres_server_url: str, template_database: str,
                   tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningPlatform]:
    # The corpus asks what each input is answered, one after another as fast as they go: the rate limits would
    # answer some of them 429 instead (they have tests of their own, libs/common/tests/unit/test_ratelimit.py).
    async with platform_in_own_database(postgres_server_url, template_database, "corpus",
                                        tmp_path_factory.mktemp("corpus"), OPERATOR_KEY,
                                        RECAUDO_INGEST_UPLOAD_RATE_PER_S="0",
                                        RECAUDO_REPORTING_REPORT_RATE_PER_S="0") as p:
        yield p


@dataclass
class Baseline:
    keys: Keys
    portfolio_id: str
    payment: dict[str, Any]


@pytest.fixture(scope="module")
async def baseline(platform: RunningPlatform) -> Baseline:
    """What the platform accepted before the corpus: two client companies, an upload and its accounts, a payment."""
    async with platform.client() as operator:
        for slug, name, country, currency, zone, locale in (
                ("banco-andino", "Banco Andino S.A.", "CO", "COP", "America/Bogota", "es-CO"),
                ("telco-azteca", "Telco Azteca", "MX", "MXN", "America/Mexico_City", "es-MX")):
            created = await operator.post("/v1/clients", json={"slug": slug, "name": name, "country": country,
                                                               "currency": currency, "timezone": zone,
                                                               "locale": locale})
            assert created.status_code == 201, created.text
        keys = Keys(OPERATOR_KEY, *[(await operator.post("/v1/keys", json=body)).json()["key"] for body in (
            {"role": "client", "client": "banco-andino"}, {"role": "client", "client": "telco-azteca"},
            {"role": "sre"})])
        upload = await place_portfolio(operator, "banco-andino", GOOD_CSV.encode(), 10)

        async def paid() -> dict[str, Any] | None:
            answer = await operator.post("/v1/clients/banco-andino/payments",
                                         headers={"Idempotency-Key": "corpus-baseline-payment"},
                                         json={"account_ref": "A-001", "amount": "50000.00", "method": "cash",
                                               "paid_at": "2026-03-04T10:00:00-05:00"})
            body: dict[str, Any] = answer.json()
            return body if body.get("status") == "applied" else None

        payment = await eventually(paid, timeout_s=60, message="the baseline payment applied")
    return Baseline(keys, upload["id"], payment)


async def test_every_bad_input_gets_its_4xx_and_code_and_nothing_accepted_is_lost(
        platform: RunningPlatform, baseline: Baseline) -> None:
    failures: list[str] = []
    server_errors: list[str] = []
    refused_uploads: list[str] = []
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=120) as http:
        for case in CASES:
            try:
                answer = await send(http, case, baseline.keys)
            except httpx.HTTPError as exc:
                failures.append(f"{case.id}: no answer ({type(exc).__name__}: {exc})")
                continue
            try:
                body = answer.json()
            except ValueError:
                body = {}
            code = body.get("code") if isinstance(body, dict) else None
            if answer.status_code >= 500:
                server_errors.append(f"{case.id}: {answer.status_code} {answer.text[:300]}")
                continue
            expected_code = case.code
            if expected_code.startswith("$ANY_"):
                good = (answer.status_code == int(expected_code[5:]) and isinstance(code, str)
                        and bool(CODE.match(code)))
            else:
                good = answer.status_code == case.status and code == expected_code
            if not good or answer.headers.get("content-type") != "application/problem+json":
                failures.append(f"{case.id}: expected {case.status} {expected_code}, got {answer.status_code} "
                                f"{code} ({answer.headers.get('content-type')}) {answer.text[:200]}")
            if isinstance(body, dict) and body.get("instance"):
                refused_uploads.append(body["instance"])
    assert not server_errors, f"{len(server_errors)} server errors:\n" + "\n".join(server_errors)
    assert not failures, f"{len(failures)} of {len(CASES)} cases answered otherwise:\n" + "\n".join(failures)

    async with platform.client() as operator:
        # Every refused upload is on the record, failed, with the code its answer gave.
        for instance in refused_uploads:
            record = (await operator.get(instance)).json()
            assert record["status"] == "failed" and CODE.match(record["error_code"]), record
        # What was accepted before is all there: the upload, its ten accounts, the payment, applied once.
        portfolio = (await operator.get(f"/v1/portfolios/{baseline.portfolio_id}")).json()
        assert (portfolio["status"], portfolio["rows_accepted"]) == ("completed", 10)
        totals = (await operator.get("/v1/clients/banco-andino/reports/recovery")).json()["totals"]
        assert (totals["accounts_placed"], totals["payments"], totals["recovered"]) == (10, 1, "50000.00")
        again = await operator.post("/v1/clients/banco-andino/payments",
                                    headers={"Idempotency-Key": "corpus-baseline-payment"},
                                    json={"account_ref": "A-001", "amount": "50000.00", "method": "cash",
                                          "paid_at": "2026-03-04T10:00:00-05:00"})
        assert again.json() == baseline.payment
        rejections: list[dict[str, Any]] = []
        page_url: str | None = "/v1/webhooks/payments/rejections?limit=1000"
        while page_url:  # every page of them, following `next`
            page = (await operator.get(page_url)).json()
            rejections, page_url = rejections + page["items"], page["next"]
        signature_cases = [c for c in CASES if c.id.startswith("webhooks/") and c.status == 401
                           and "/payments/" in c.request["path"]]
        # Each refused webhook is on the record, with its reason: counted per (gateway, source, reason).
        assert sum(r["count"] for r in rejections) >= len(signature_cases)


async def test_rows_the_client_must_fix_are_rejected_with_the_code_that_says_what_to_fix(
        platform: RunningPlatform, baseline: Baseline) -> None:
    failures: list[str] = []
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=120) as http:
        for case in ROW_CASES:
            answer = await send(http, case, baseline.keys)
            if answer.status_code != 202:
                failures.append(f"{case.id}: expected 202, got {answer.status_code} {answer.text[:200]}")
                continue
            record = f"/v1/portfolios/{answer.json()['id']}"
            headers = {"Authorization": f"Bearer {baseline.keys.operator}"}

            async def done(record: str = record, headers: dict[str, str] = headers) -> dict[str, Any] | None:
                body: dict[str, Any] = (await http.get(record, headers=headers)).json()
                return body if body["status"] in ("completed", "failed") else None

            portfolio = await eventually(done, timeout_s=60, message=f"{case.id} processed")
            issues = (await http.get(f"{record}/rejections", headers=headers)).json()["items"]
            seen = [(i["row"], f"{i['field']}:{i['code']}") for i in issues]
            if (portfolio["status"], portfolio["rows_accepted"], seen) != ("completed", 0, [(case.status, case.code)]):
                failures.append(f"{case.id}: expected row {case.status} {case.code}, got {portfolio['status']}, "
                                f"{portfolio['rows_accepted']} accepted, rejections {seen}")
    assert not failures, f"{len(failures)} of {len(ROW_CASES)} row cases answered otherwise:\n" + "\n".join(failures)
