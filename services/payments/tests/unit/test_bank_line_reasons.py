"""Every reason a bank statement's line is rejected for has its Spanish words on the payments page's file result
(suspense.js): an operator reads why a line was not applied, never a code."""

import re
from pathlib import Path

import pytest

import payments

pytestmark = pytest.mark.unit

SCRIPT = Path(payments.__file__).parent / "console_templates" / "suspense.js"
# check_bank_row's codes, Asobancaria's (domain/asobancaria.py), and the handler's own (bank_files/handlers.py).
LINE_REJECTIONS = {"missing_reference", "invalid_amount", "invalid_date", "returned_by_bank", "paid_at_in_future",
                   "transaction_id_reused"}


def shown_reasons() -> set[str]:
    block = re.search(r"const REASONS = \{(.*?)\};", SCRIPT.read_text(), re.S)
    assert block is not None
    return set(re.findall(r"(\w+):\s*\"", block.group(1)))


def test_every_line_rejection_is_said_in_spanish() -> None:
    assert LINE_REJECTIONS - shown_reasons() == set()
