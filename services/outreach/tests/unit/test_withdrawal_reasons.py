"""Every reason outreach withdraws a call for (the handlers' words, and the contact law's codes the desk's check
finds) has its code on contact.withdrawn, the one readers see: a word with no code fails here, not in a recall's
handler."""

import typing

import pytest

from outreach.domain.contact_law import ALWAYS_BLOCKING
from outreach.withdrawals import NOT_PURSUED, PERSON_ERASED, reason_code
from recaudo_common.accounts import CLOSED
from recaudo_common.events import LegalHold, WithdrawalReason

pytestmark = pytest.mark.unit


def test_each_handlers_words_have_their_code() -> None:
    words = {"account recalled": "account_recalled", "opted out": "opted_out", "do not contact": "do_not_contact",
             PERSON_ERASED: "person_erased", NOT_PURSUED: "not_pursued",
             **{f"account {status}": f"account_{status}" for status in CLOSED},
             **{f"legal hold: {hold}": "legal_hold" for hold in typing.get_args(LegalHold)}}
    assert {said: reason_code(said) for said in words} == words


def test_the_contact_laws_codes_are_their_own_and_the_first_of_several_in_the_catalogues_order() -> None:
    for code in ALWAYS_BLOCKING:
        assert reason_code(code) == code
    assert reason_code("channel_not_authorised, legal_hold") == "legal_hold"
    assert reason_code("legal_hold, opted_out") == "opted_out"


def test_every_code_is_one_the_event_takes_and_unknown_words_are_refused() -> None:
    assert set(typing.get_args(WithdrawalReason)) >= ALWAYS_BLOCKING
    with pytest.raises(ValueError, match="no withdrawal reason code"):
        reason_code("the agent felt like it")
