"""Auth rules, personal-data masking, spreadsheet neutralising."""

import json
import logging
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from recaudo_common.auth import Principal
from recaudo_common.domain_errors import Conflict, DomainError, Invalid, NotAllowed, NotFound, NotRecorded
from recaudo_common.errors import ProblemError, install_problem_handlers
from recaudo_common.exports import neutralise
from recaudo_common.telemetry import JsonFormatter, mask_text

pytestmark = pytest.mark.unit


def test_client_key_sees_only_its_client() -> None:
    key = Principal(uuid.uuid4(), "client", "banco-andino")
    key.require_client("banco-andino")
    with pytest.raises(ProblemError) as err:
        key.require_client("telco-azteca")
    assert err.value.problem.status == 404


def test_scoped_operator_and_sre() -> None:
    scoped = Principal(uuid.uuid4(), "operator", None, ("banco-andino",))
    assert scoped.can_see_client("banco-andino") and not scoped.can_see_client("telco-azteca")
    assert Principal(uuid.uuid4(), "operator").can_see_client("anything")
    sre = Principal(uuid.uuid4(), "sre")
    with pytest.raises(ProblemError) as err:
        sre.require_client("banco-andino")
    assert err.value.problem.status == 403


def test_logs_never_carry_personal_data() -> None:
    formatter = JsonFormatter("test")
    record = logging.LogRecord("x", logging.INFO, __file__, 1,
                               "sent to ana.gomez@correo.co at +57 300 123 4567, cédula 1020304050", None, None)
    record.fields = {"full_name": "Ana Gómez", "debtor_id": "1020304050", "channel": "sms"}
    line = json.loads(formatter.format(record))
    text = json.dumps(line, ensure_ascii=False)
    for secret in ("ana.gomez", "300 123 4567", "1020304050", "Ana Gómez"):
        assert secret not in text
    assert line["channel"] == "sms"
    assert mask_text("ref A-12") == "ref A-12"  # short references stay readable


@pytest.mark.parametrize(("cell", "expected"), [
    ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+cmd", "'+cmd"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("-1500.50", "-1500.50"), ("+573001234567", "+573001234567"), ("Bogotá", "Bogotá"),
])
def test_formula_cells_are_neutralised(cell: str, expected: str) -> None:
    assert neutralise(cell) == expected


def test_payment_link_tokens_name_their_account_and_cannot_be_forged() -> None:
    import datetime as dt

    from recaudo_common.payment_links import make_token, read_token

    now = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
    token = make_token(client="banco", account_ref="A-1/ñ", expires_at=now + dt.timedelta(days=7), secret="s")
    target = read_token(token, secret="s", now=now)
    assert target is not None and (target.client, target.account_ref) == ("banco", "A-1/ñ")
    assert read_token(token, secret="other", now=now) is None
    import base64

    parts = token.split(".")
    parts[1] = base64.urlsafe_b64encode(b"A-2").rstrip(b"=").decode()  # point the link at another account
    assert read_token(".".join(parts), secret="s", now=now) is None
    later = now + dt.timedelta(days=8)
    assert read_token(token, secret="s", now=later) is None
    assert read_token(token, secret="s", now=later, allow_expired=True) is not None
    assert read_token("garbage", secret="s", now=now) is None


def test_staged_events_carry_the_trace_context_they_were_emitted_under() -> None:
    """The outbox keeps each event's traceparent from the moment it was emitted, even when a batch writes them
    all later (and reads the context once per span, not once per event)."""
    import datetime as dt

    from opentelemetry.sdk.trace import TracerProvider

    from recaudo_common.events import AccountRecalled
    from recaudo_common.outbox import Outbox

    tracer = TracerProvider().get_tracer("test")
    now = dt.datetime(2026, 3, 4, 15, tzinfo=dt.UTC)
    outbox = Outbox("reporting")

    def staged_traceparent() -> str:
        envelope = AccountRecalled(account_ref="A-1", recalled_at=now).envelope(client="banco", occurred_at=now)
        return str(json.loads(outbox.stage(envelope).headers).get("traceparent", ""))

    with tracer.start_as_current_span("first") as first:
        one, again = staged_traceparent(), staged_traceparent()
    with tracer.start_as_current_span("second") as second:
        other = staged_traceparent()
    assert one == again and one.split("-")[2] == format(first.get_span_context().span_id, "016x")
    assert other.split("-")[2] == format(second.get_span_context().span_id, "016x") != one.split("-")[2]
    assert staged_traceparent() == ""  # outside any span: no context to carry


def test_the_relay_cursor_keeps_the_ids_a_scan_skipped_and_lets_them_go() -> None:
    from recaudo_common.bus.relay import RelayCursor

    now = [0.0]
    cursor = RelayCursor(rescan_every_s=100.0, gap_wait_s=10.0, max_gaps=5, clock=lambda: now[0])
    assert cursor.start() == (0, [])  # cold: the first scan is a full one
    cursor.advance(0, [500, 501, 503])
    assert cursor.after == 503 and list(cursor.gaps) == [502]  # nothing below the first row seen is a gap
    assert cursor.start() == (503, [502])
    cursor.advance(503, [502, 504])  # the straggler went out; no new gap
    assert cursor.after == 504 and cursor.gaps == {}
    cursor.advance(504, [507])
    now[0] = 11.0
    assert cursor.start() == (507, [])  # 505 and 506 were let go after gap_wait_s
    cursor.advance(507, [520])  # twelve skipped ids are too many to look up one by one: a full rescan soon
    assert cursor.gaps == {} and cursor.after == 520
    now[0] = 21.0
    assert cursor.start() == (0, [])


@pytest.mark.parametrize(("error", "status"), [
    (Invalid("invalid_promise", "el valor debe ser positivo"), 422), (NotFound("account 'A-1'"), 404),
    (Conflict("already_reversed", "payment already reversed"), 409), (NotAllowed(), 403),
    (NotRecorded("payment_not_recorded", "storage refused it"), 500),
])
def test_a_domain_refusal_is_answered_at_the_edge_with_its_kind_status(error: DomainError, status: int) -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/refuse")
    async def refuse() -> None:
        raise error

    answer = TestClient(app).get("/refuse")
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["code"] == error.code and body["detail"] == error.detail and body["status"] == status
