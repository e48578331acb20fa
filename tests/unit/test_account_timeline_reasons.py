"""Every reason outreach may refuse a contact for has its Spanish words on the accounts console's timeline
(ingest's accounts.js), the collection hold's included: an operator reads why a message waits, never a code
(tests/e2e/test_console_accounts.py reads one on the page)."""

import re
from pathlib import Path

import pytest

import ingest
from outreach.domain.collection_holds import HOLD_REASONS
from outreach.domain.contact_law import REASONS

pytestmark = pytest.mark.unit

SCRIPT = Path(ingest.__file__).parent / "console_static" / "accounts.js"


def said(name: str) -> dict[str, str]:
    block = re.search(rf"const {name} = \{{(.*?)\}};", SCRIPT.read_text(encoding="utf-8"), re.S)
    assert block is not None, name
    return dict(re.findall(r"(\w+):\s*\"([^\"]+)\"", block.group(1)))


def test_every_reason_a_decision_gives_is_said_in_spanish() -> None:
    words = said("RULES")
    assert {*REASONS, *HOLD_REASONS} - words.keys() == set()
    assert words["promise_pending"] == "promesa de pago pendiente"
    assert words["arrangement_standing"] == "acuerdo de pago vigente"

