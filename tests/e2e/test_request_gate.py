"""The door under attack: bodies streamed at the real platform (its own process) over a raw socket, as an attacker
would send them. Authentication comes before a byte of the body is read; every cap holds while the body streams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from recaudo_common.testing import RunningPlatform, eventually, platform_in_own_database, stream_request

pytestmark = pytest.mark.e2e

OPERATOR_KEY = "rk_gate_operator_key_0123456789abcdef"
UPLOAD_CAP = 8 * 1024**2
GIB = 1024**3
CHUNK = 256 * 1024
# What the client may have pushed before the answer: the loopback socket's send and receive buffers (several MB
# between them) and one chunk. Anything near the body's size would mean the server read it.
SOCKET_SLACK = 24 * 1024**2
CLIENT = {"slug": "gate-co", "name": "Gate SA", "country": "CO", "currency": "COP", "timezone": "America/Bogota"}


@pytest.fixture(scope="module")
async def platform(postgres_server_url: str, template_database: str,
                   tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningPlatform]:
    # One platform for the module (starting one takes seconds): each test measures from its own start, and the
    # one that lowers the client company's cap restores it.
    async with platform_in_own_database(postgres_server_url, template_database, "gate", tmp_path_factory.mktemp("gate"),
                                        OPERATOR_KEY, RECAUDO_INGEST_MAX_UPLOAD_BYTES=str(UPLOAD_CAP)) as running:
        async with running.client() as http:
            assert (await http.post("/v1/clients", json=CLIENT)).status_code == 201
        yield running


def portfolio(accounts: int) -> bytes:
    rows = [f"G-{i:05d};10203{i:05d};Ana Gómez;300 123 4567;1.500.000;15" for i in range(accounts)]
    return "\n".join(["Número Obligación;Cédula;Nombre Completo;Celular;Saldo Total;Días Mora", *rows, ""]).encode()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def stream(base_url: str, path: str, headers: dict[str, str], total: int, *, chunked: bool = True,
                 prefix: bytes = b"") -> tuple[int, bytes, int]:
    """Sends `prefix` then up to `total` bytes for as long as the server takes them: (status, answer, sent)."""

    async def body() -> AsyncIterator[bytes]:
        if prefix:
            yield prefix
        block, left = b"x" * CHUNK, total
        while left > 0:
            yield block[:min(CHUNK, left)]
            left -= CHUNK

    answer = await stream_request(base_url, "POST", path, headers, body(), chunked=chunked,
                                  length=len(prefix) + total)
    return answer.status, answer.body, answer.sent


async def test_an_anonymous_gigabyte_is_refused_401_having_read_almost_nothing(platform: RunningPlatform) -> None:
    assert platform.process.process is not None
    pid = platform.process.process.pid
    before = rss_bytes(pid)
    for path in ("/v1/clients/gate-co/portfolios", "/v1/clients", "/v1/clients/gate-co/payments"):
        status, body, sent = await stream(platform.base_url, path,
                                          {"Content-Type": "multipart/form-data; boundary=x"}, GIB)
        assert status == 401, body
        assert b'"unauthorized"' in body
        assert sent < SOCKET_SLACK, f"{sent} bytes went out before the 401 on {path}"
    # A declared gigabyte with a forged key: refused before the body too.
    status, body, sent = await stream(platform.base_url, "/v1/clients/gate-co/portfolios",
                                      {"Authorization": "Bearer rk_forged", "Content-Type": "text/csv"}, GIB,
                                      chunked=False)
    assert status == 401 and b'"invalid_api_key"' in body and sent < SOCKET_SLACK
    assert rss_bytes(pid) - before < 200 * 1024**2


async def test_a_body_over_its_cap_is_refused_413_as_the_cap_is_passed(platform: RunningPlatform) -> None:
    assert platform.process.process is not None
    pid = platform.process.process.pid
    before = rss_bytes(pid)
    auth = {"Authorization": f"Bearer {OPERATOR_KEY}"}
    multipart = {**auth, "Content-Type": "multipart/form-data; boundary=b0undary"}
    prefix = (b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="cartera.csv"\r\n'
              b"Content-Type: text/csv\r\n\r\n")
    # A declared length over the cap: refused at once.
    status, body, sent = await stream(platform.base_url, "/v1/clients/gate-co/portfolios", multipart, GIB,
                                      chunked=False, prefix=prefix)
    assert status == 413 and b'"payload_too_large"' in body and sent < SOCKET_SLACK
    # Chunked, no length declared: counted as it arrives, refused once past the cap.
    status, body, sent = await stream(platform.base_url, "/v1/clients/gate-co/portfolios", multipart, GIB,
                                      prefix=prefix)
    assert status == 413, body
    assert sent < UPLOAD_CAP + SOCKET_SLACK
    # Every other body is JSON under 1 MiB; a provider's notification is at most 64 KiB, before any signature.
    status, body, _ = await stream(platform.base_url, "/v1/clients", {**auth, "Content-Type": "application/json"},
                                   GIB)
    assert status == 413 and b'"payload_too_large"' in body
    status, body, sent = await stream(platform.base_url, "/v1/webhooks/payments/wompi",
                                      {"Content-Type": "application/json"}, GIB)
    assert status == 413 and b"65536" in body and sent < SOCKET_SLACK
    assert rss_bytes(pid) - before < 200 * 1024**2

    # The platform is still whole: the next upload completes.
    async with platform.client() as http:
        csv = portfolio(1)
        answer = await http.post("/v1/clients/gate-co/portfolios", files={"file": ("cartera.csv", csv, "text/csv")})
        assert answer.status_code == 202, answer.text

        async def completed() -> bool:
            done = await http.get(f"/v1/portfolios/{answer.json()['id']}")
            return bool(done.json()["status"] == "completed")

        await eventually(completed, timeout_s=60, message="the next upload completed")


async def test_a_client_companys_cap_only_lowers_the_platforms(platform: RunningPlatform) -> None:
    async with platform.client() as http:
        too_high = await http.put("/v1/clients/gate-co/upload-cap", json={"max_upload_bytes": UPLOAD_CAP + 1})
        assert too_high.status_code == 422 and too_high.json()["code"] == "upload_cap_too_high"
        lowered = await http.put("/v1/clients/gate-co/upload-cap", json={"max_upload_bytes": 1000})
        assert lowered.status_code == 200 and lowered.json()["max_upload_bytes"] == 1000
        big = portfolio(100)
        refused = await http.post("/v1/clients/gate-co/portfolios", files={"file": ("c.csv", big, "text/csv")})
        assert refused.status_code == 413 and refused.json()["code"] == "file_too_large"
        assert "1000" in refused.json()["detail"]
        record = await http.get(refused.json()["instance"])  # the refusal is on the record, fetched later
        assert record.status_code == 200, record.text
        assert (record.json()["status"], record.json()["error_code"]) == ("failed", "file_too_large")
        assert record.json()["filename"] == "c.csv" and "1000" in record.json()["error_detail"]["detail"]
        restored = await http.put("/v1/clients/gate-co/upload-cap", json={"max_upload_bytes": None})
        assert restored.status_code == 200 and restored.json()["max_upload_bytes"] is None
        accepted = await http.post("/v1/clients/gate-co/portfolios", files={"file": ("c.csv", big, "text/csv")})
        assert accepted.status_code == 202, accepted.text


async def test_the_fields_of_an_upload_may_follow_its_file(platform: RunningPlatform) -> None:
    async with platform.client() as http:
        body = (b'--B\r\nContent-Disposition: form-data; name="file"; filename="cartera.csv"\r\n\r\n'
                + portfolio(1) +
                b'\r\n--B\r\nContent-Disposition: form-data; name="locale"\r\n\r\nes-CO'
                b'\r\n--B\r\nContent-Disposition: form-data; name="as_of"\r\n\r\n2026-11-01\r\n--B--\r\n')
        answer = await http.post("/v1/clients/gate-co/portfolios", content=body,
                                 headers={"Content-Type": "multipart/form-data; boundary=B"})
        assert answer.status_code == 202, answer.text
        assert answer.json()["as_of"] == "2026-11-01" and answer.json()["filename"] == "cartera.csv"
        no_file = await http.post("/v1/clients/gate-co/portfolios", content=b"--B--\r\n",
                                  headers={"Content-Type": "multipart/form-data; boundary=B"})
        assert no_file.status_code == 422 and no_file.json()["code"] == "invalid_form"
        not_a_form = await http.post("/v1/clients/gate-co/portfolios", json={"file": "x"})
        assert not_a_form.status_code == 415 and not_a_form.json()["code"] == "unsupported_media_type"


async def test_a_keyed_body_sent_as_a_form_where_no_file_is_taken_is_capped_as_json(platform: RunningPlatform) -> None:
    """Only the routes that take a file have a file's cap (each its own rule). Any key (even a client company's, at
    a route it may not use) sending `multipart/form-data` elsewhere is held to the JSON cap: FastAPI buffers such
    a body whole before the route's dependencies run, so a file's cap there let one request fill the pod's memory."""
    assert platform.process.process is not None
    pid = platform.process.process.pid
    before = rss_bytes(pid)
    async with platform.client() as http:
        client_key = (await http.post("/v1/keys", json={"role": "client", "client": "gate-co"})).json()["key"]
    for key, path in ((OPERATOR_KEY, "/v1/clients/gate-co/payments"), (client_key, "/v1/clients"),
                      (client_key, "/v1/keys")):
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "multipart/form-data; boundary=B",
                   "Idempotency-Key": "gate-form"}
        status, body, sent = await stream(platform.base_url, path, headers, 64 * 1024**2,
                                          prefix=b'--B\r\nContent-Disposition: form-data; name="x"\r\n\r\n')
        assert status == 413 and b'"payload_too_large"' in body and b"1048576" in body, (path, status, body)
        assert sent < 1024**2 + SOCKET_SLACK, f"{sent} bytes went out before the answer on {path}"
    assert rss_bytes(pid) - before < 200 * 1024**2
