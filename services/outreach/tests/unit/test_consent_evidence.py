"""What a placement, a restatement, a STOP reply and an operator's do-not-contact mean for a channel's consent
(outreach.domain.consent): the evidence each records and the states it leaves."""

import datetime as dt
import uuid

import pytest

from outreach.domain.consent import (
    ChannelConsent,
    ConsentChange,
    after,
    not_withdrawn,
    opt_out_source_of,
    stated_by_client_file,
    states_of,
    withdrawn,
)

pytestmark = pytest.mark.unit
T0 = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(days=1)
FILE_1, FILE_2, ATTEMPT, KEY = (uuid.UUID(int=n) for n in range(1, 5))


def granted(source: str = "client_file", at: dt.datetime = T0) -> ChannelConsent:
    return ChannelConsent("granted", source, at)  # type: ignore[arg-type]


def revoked(source: str, at: dt.datetime = T0) -> ChannelConsent:
    return ChannelConsent("withdrawn", source, at)  # type: ignore[arg-type]


def test_a_placement_grants_each_channel_its_file_authorises_once() -> None:
    changes = stated_by_client_file(("sms", "email", "sms"), {}, portfolio_id=FILE_1)
    assert changes == [ConsentChange("sms", "granted", "client_file", FILE_1),
                       ConsentChange("email", "granted", "client_file", FILE_1)]


def test_a_restatement_of_the_same_channels_records_nothing() -> None:
    current = {"sms": granted(), "email": granted()}
    assert stated_by_client_file(("email", "sms"), current, portfolio_id=FILE_2) == []


def test_a_restatement_adds_new_channels_and_withdraws_those_its_file_no_longer_lists() -> None:
    current = {"sms": granted(), "email": granted()}
    assert stated_by_client_file(("sms", "voice"), current, portfolio_id=FILE_2) == [
        ConsentChange("voice", "granted", "client_file", FILE_2),
        ConsentChange("email", "withdrawn", "client_file", FILE_2)]


def test_a_file_does_not_bring_back_a_channel_the_debtor_or_an_operator_withdrew() -> None:
    current = {"sms": revoked("reply"), "email": revoked("operator"), "voice": revoked("client_file")}
    assert stated_by_client_file(("sms", "email", "voice"), current, portfolio_id=FILE_2) == [
        ConsentChange("voice", "granted", "client_file", FILE_2)]


def test_a_file_that_drops_a_channel_the_debtor_withdrew_records_nothing_more() -> None:
    assert stated_by_client_file((), {"sms": revoked("reply")}, portfolio_id=FILE_2) == []


def test_a_new_account_carries_the_debtors_withdrawals_instead_of_the_files_grants() -> None:
    stop = ConsentChange("sms", "withdrawn", "reply", ATTEMPT)
    dnc_letter = ConsentChange("letter", "withdrawn", "operator", KEY)
    changes = stated_by_client_file(("sms", "email"), {}, portfolio_id=FILE_2,
                                    debtor_withdrew={"sms": stop, "letter": dnc_letter})
    assert changes == [stop, dnc_letter, ConsentChange("email", "granted", "client_file", FILE_2)]
    already = {"sms": revoked("reply"), "email": granted()}
    assert stated_by_client_file(("sms", "email"), already, portfolio_id=FILE_2, debtor_withdrew={"sms": stop}) == []


def test_a_stop_reply_withdraws_its_channel_with_the_attempt_it_answered() -> None:
    changes = withdrawn(("sms",), {"sms": granted()}, opt_out_source="reply", evidence=ATTEMPT)
    assert changes == [ConsentChange("sms", "withdrawn", "reply", ATTEMPT)]


def test_a_withdrawal_already_on_record_is_not_repeated_but_the_debtors_word_supersedes_the_files() -> None:
    current = {"sms": revoked("reply"), "email": revoked("client_file")}
    assert withdrawn(("sms", "email"), current, opt_out_source="reply", evidence=ATTEMPT) == [
        ConsentChange("email", "withdrawn", "reply", ATTEMPT)]


def test_do_not_contact_is_an_operators_withdrawal_of_every_channel() -> None:
    changes = withdrawn(("sms", "email", "letter"), {"sms": revoked("reply")}, opt_out_source="do_not_contact",
                        evidence=KEY)
    assert [(c.channel, c.what, c.source, c.evidence) for c in changes] == [
        ("email", "withdrawn", "operator", KEY), ("letter", "withdrawn", "operator", KEY)]


@pytest.mark.parametrize(("opt_out", "source"), [("reply", "reply"), ("debtor_page", "debtor_page"),
                                                 ("do_not_contact", "operator"), ("operator", "operator"),
                                                 ("anything else", "operator")])
def test_an_opt_outs_source_becomes_a_consent_source(opt_out: str, source: str) -> None:
    assert opt_out_source_of(opt_out) == source


def test_states_fold_the_evidence_in_order() -> None:
    record = [(ConsentChange("sms", "granted", "client_file", FILE_1), T0),
              (ConsentChange("email", "granted", "client_file", FILE_1), T0),
              (ConsentChange("sms", "withdrawn", "reply", ATTEMPT), T1)]
    assert states_of(record) == {"sms": revoked("reply", T1), "email": granted()}
    assert after({}, [c for c, _ in record], T1) == {"sms": revoked("reply", T1), "email": granted(at=T1)}


def test_a_plan_uses_no_channel_the_debtor_withdrew() -> None:
    assert not_withdrawn(["whatsapp", "sms", "email"], opted_out=["whatsapp"], do_not_contact=False) == [
        "sms", "email"]
    assert not_withdrawn(["sms"], opted_out=[], do_not_contact=False) == ["sms"]
    assert not_withdrawn(["sms", "email"], opted_out=[], do_not_contact=True) == []
