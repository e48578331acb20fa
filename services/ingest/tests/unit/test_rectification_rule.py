"""What an operator's correction of a debtor's contact points means: phones normalised as a file's are, every
reason a value is refused given at once, and only what differs counted as changed."""

import pytest

from ingest.domain.rectification import correction
from recaudo_common.personal_data import PersonalData

pytestmark = pytest.mark.unit
ANA = PersonalData(full_name="Ana", id_number="1", phones=("+573001234567",), email="ana@correo.co")


def test_phones_are_normalised_for_the_country_once_each() -> None:
    fixed, refusals = correction(given={"phones", "reason"}, phones=["300 123 4567", "(310) 555-1234",
                                                                     "+573001234567"], email=None, address=None,
                                 country="CO")
    assert refusals == [] and fixed.given == {"phones"}
    assert fixed.phones == ("+573001234567", "+573105551234")
    assert fixed.applied_to(ANA) == ANA.model_copy(update={"phones": ("+573001234567", "+573105551234")})
    assert fixed.changes([ANA]) == ["phones"] and fixed.changes([fixed.applied_to(ANA)]) == []


def test_every_refusal_at_once_with_where_and_why() -> None:
    _, refusals = correction(given={"phones", "email"}, phones=["123", "55 1234 5678"], email="no es", address=None,
                             country="CO")
    assert [(r.loc, r.code) for r in refusals] == [(("body", "phones", 0), "invalid_phone"),
                                                   (("body", "phones", 1), "invalid_phone"),
                                                   (("body", "email"), "invalid_email")]
    assert all("no es" not in r.reason and "123" not in r.reason for r in refusals)  # no value echoed
    _, nothing = correction(given={"reason"}, phones=None, email=None, address=None, country="CO")
    assert [r.code for r in nothing] == ["nothing_to_rectify"]


def test_a_null_email_or_address_removes_it_and_an_absent_one_is_kept() -> None:
    fixed, _ = correction(given={"email"}, phones=None, email=None, address="  ", country="CO")
    assert fixed.applied_to(ANA).email is None and fixed.applied_to(ANA).phones == ANA.phones
    assert fixed.changes([ANA, ANA.model_copy(update={"email": None})]) == ["email"]


@pytest.mark.parametrize("typed", ["ana\u200b@correo.co", "\ufeffana@correo.co", "ana@correo.co\u200e",
                                   "an\u00ada@correo.co"])
def test_an_invisible_character_pasted_into_a_corrected_e_mail_is_no_part_of_it(typed: str) -> None:
    """As in a file's e-mail cell (portfolio._email): an address pasted from a web page, a chat or a PDF carries
    zero-width spaces, byte-order and direction marks or soft hyphens no one sees; kept, the address bounces and the
    blind index does not find the person by it; refused, the operator cannot tell why."""
    fixed, refusals = correction(given={"email"}, phones=None, email=typed, address=None, country="CO")
    assert refusals == [] and fixed.email == "ana@correo.co"
    assert fixed.changes([ANA]) == []
