"""A log line's extra fields are masked whatever their type: a number, a list or a mapping is no way around the masks."""

import json
import logging
import uuid
from decimal import Decimal

import pytest

from recaudo_common.telemetry import JsonFormatter, mask_fields

pytestmark = pytest.mark.unit


def test_an_id_number_passed_as_a_number_is_masked_and_counts_stay_numbers() -> None:
    masked = mask_fields({"holder": 1020304050, "dotted": Decimal("1020304050"), "rows": 500, "ratio": 0.25,
                          "ok": True, "none": None})
    assert masked["holder"] == masked["dotted"] == "[redacted]"
    assert (masked["rows"], masked["ratio"], masked["ok"], masked["none"]) == (500, 0.25, True, None)


def test_lists_and_mappings_are_masked_inside() -> None:
    event = uuid.UUID("01934f2e-8a4b-7c6d-9e0f-1a2b3c4d5e6f")
    masked = mask_fields({
        "refs": ["A-1", 3001234567, "ana.gomez@correo.co"],
        "seen": ("1.020.304.050",),
        "person": {"email": "ana@correo.co", "note": "cc 1020304050", "n": 2, "inner": [{"phone": "3001234567"}]},
        "event": event,
    })
    assert masked["refs"] == ["A-1", "[redacted]", "[email]"]
    assert masked["seen"] == ["[redacted]"]
    assert masked["person"] == {"email": "[redacted]", "note": "cc [redacted]", "n": 2,
                                "inner": [{"phone": "[redacted]"}]}
    assert masked["event"] == event  # an id of the platform's names no one and stays whole


def test_the_json_line_carries_no_number_given_whole() -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "payment matched", None, None)
    record.fields = {"holder": 1020304050, "payers": [1020304050], "by": {"cedula": 79123456}}
    line = JsonFormatter("payments").format(record)
    assert "1020304050" not in line and "79123456" not in line
    assert json.loads(line)["payers"] == ["[redacted]"]
