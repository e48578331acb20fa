"""Error text without personal data: what the scrubber keeps (what failed) and what it takes out (whom)."""

import json
import logging

import pytest
from pydantic import BaseModel, ValidationError

from recaudo_common.redaction import describe_error, mask_text, scrub_text
from recaudo_common.telemetry import JsonFormatter

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("text", "kept", "gone"), [
    ('duplicate key value violates unique constraint "debtors_email_key"\nDETAIL:  Key (email)=(ana@correo.co) '
     "already exists.", ['constraint "debtors_email_key"', "DETAIL: [redacted]"], ["ana@correo.co"]),
    ("Key (debtor_id, full_name)=(1020304050, Ana Gómez) already exists.", ["Key (debtor_id, full_name)=("],
     ["1020304050", "Ana Gómez"]),
    ('new row for relation "p" violates check constraint "c" Failing row contains (Ana Gómez, 300 123 4567).',
     ['relation "p"', 'constraint "c"'], ["Ana Gómez", "300 123 4567"]),
    ("(sqlalchemy...IntegrityError) boom\n[SQL: INSERT INTO t VALUES ('Ana Gómez', $1)]\n[parameters: "
     "('ana@correo.co',)]\n(Background on this error at: https://sqlalche.me/e/21/gkpj)\nafter",
     ["boom", "after"], ["Ana Gómez", "ana@correo.co", "sqlalche.me"]),
    ('invalid input syntax for type uuid: "Ana Gómez"', ['type uuid: "[redacted]"'], ["Ana Gómez"]),
    ("invalid input for query argument $1: 'Ana Gómez' (expected int)", ["argument $1"], ["Ana Gómez"]),
    ('  File "/srv/app/handlers.py", line 3, in apply', ['File "/srv/app/handlers.py"'], []),
    ('error parsing value for field "vault_master_key" from source "x"', ['field "vault_master_key"'], []),
])
def test_scrub_text_takes_values_out_and_keeps_what_failed(text: str, kept: list[str], gone: list[str]) -> None:
    scrubbed = scrub_text(text)
    for part in kept:
        assert part in scrubbed
    for part in gone:
        assert part not in scrubbed


@pytest.mark.parametrize("written", [
    "1.020.304.050", "CC 79.123.456", "12.345.678-K", "20.123.456", "300.123.4567", "(57) 300.123.4567",
    "+57 300 123 4567", "1020304050"])
def test_an_id_number_or_phone_in_any_usual_spelling_is_masked(written: str) -> None:
    masked = mask_text(f"el deudor {written} escribió")
    assert masked.startswith("el deudor ") and masked.endswith(" escribió")
    assert not any(group in masked for group in ("020", "304", "050", "123", "456", "678", "4567")), masked


@pytest.mark.parametrize("text", ["saldo 150000.00 de 3 cuotas", "versión 3.12.1", "ref A-12", "host 127.0.0.1"])
def test_amounts_versions_and_short_references_stay_readable(text: str) -> None:
    assert mask_text(text) == text


def test_a_validation_error_is_described_by_location_and_type_only() -> None:
    class Debtor(BaseModel):
        full_name: int
        debtor_id: int

    with pytest.raises(ValidationError) as err:
        Debtor.model_validate({"full_name": "Ana Gómez", "debtor_id": "CC 1020304050"})
    described = describe_error(err.value)
    assert described == "ValidationError: 2 validation error(s): full_name int_parsing; debtor_id int_parsing"


def test_an_id_in_a_log_line_stays_whole_while_a_number_beside_it_is_masked() -> None:
    # An event's, an erasure's or an attempt's id (UUIDv7: its digits and hyphens read as a phone number) is what an
    # SRE searches and replays by; the masks cut pieces out of it ("01a25208-[redacted]f4-85aa-...").
    ids = ("01a25208-2541-76f4-85aa-c64a9ab8eb96", "27ccf349-6751-4c2c-82d2-68a4108e4950")
    record = logging.LogRecord("recaudo.consumer", logging.ERROR, __file__, 1, "event %s dead-lettered (+57 300 "
                               "123 4567)", (ids[0],), None)
    record.fields = {"event_id": ids[0], "erasure": ids[1], "reason": f"{ids[1]} for 1.020.304.050"}
    line = json.loads(JsonFormatter("test").format(record))
    assert line["msg"] == f"event {ids[0]} dead-lettered ([redacted])"
    assert (line["event_id"], line["erasure"]) == ids
    assert line["reason"] == f"{ids[1]} for [redacted]"
    assert mask_text(f"{ids[0]}: 3001234567") == f"{ids[0]}: [redacted]"
