"""Every reason a payment can wait in suspense for has its Spanish label on the console's suspense page: an operator
reads why, never a code."""

import itertools

import pytest

from payments.bank_files.handlers import AMBIGUOUS
from payments.console_pages import REASONS
from payments.domain.bank_files import ALREADY_BANKED, IN_EARLIER_FILE, POSSIBLE_DUPLICATE
from payments.domain.matching import match_payment
from payments.gateways.booking import DISPUTE_WON, DUPLICATE_REFERENCE

pytestmark = pytest.mark.unit


def unmatched_reasons() -> set[str]:
    """Every reason match_payment leaves a payment unmatched with, over all the kinds of input it takes."""
    found = set()
    for ref, known, debtor, open_accounts in itertools.product(
            (None, "A-1"), (False, True), (None, "77"), ([], ["A-1"], ["A-1", "A-2"])):
        match = match_payment(account_ref=ref, known_account=known, debtor_id=debtor,
                              debtor_open_accounts=open_accounts)
        if match.account_ref is None:
            found.add(match.reason)
    return found


def test_every_suspense_reason_has_a_spanish_label() -> None:
    reasons = unmatched_reasons() | {"currency_mismatch", "amount_not_in_cents", DUPLICATE_REFERENCE, AMBIGUOUS,
                                     POSSIBLE_DUPLICATE, ALREADY_BANKED, IN_EARLIER_FILE, DISPUTE_WON}
    assert reasons - set(REASONS) == set()
    assert len(reasons) == 12
