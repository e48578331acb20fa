"""Auth rules, personal-data masking, spreadsheet neutralising."""

import json
import logging
import uuid

import pytest

from recaudo_common.auth import Principal
from recaudo_common.errors import ProblemError
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
