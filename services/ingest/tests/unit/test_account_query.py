"""A typed account search read every way it may be meant (#23): id numbers as typed, phones national or
international, names in any order without accents or case, and what it is not."""

import pytest

from ingest.account_search.domain import ACCENTED, MAX_QUERY_CHARS, UNACCENTED, AccountQuery, read_query
from ingest.domain.identifiers import plain

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("typed", "read"), [
    ("1.020.304.050", AccountQuery("1.020.304.050", "1020304050", "+571020304050", ())),
    (" 1 020  304 050 ", AccountQuery("1 020 304 050", "1020304050", "+571020304050", ())),
    ("300 123 4567", AccountQuery("300 123 4567", "3001234567", "+573001234567", ())),
    ("+57 300 123 4567", AccountQuery("+57 300 123 4567", "573001234567", "+573001234567", ())),
    ("(310) 765-4321", AccountQuery("(310) 765-4321", "3107654321", "+573107654321", ())),
    ("Gómez  MARÍA josé", AccountQuery("Gómez MARÍA josé", None, None, ("gomez", "maria", "jose"))),
    ("Peña, Núñez", AccountQuery("Peña, Núñez", None, None, ("pena", "nunez"))),
    ("CR-2024-000187", AccountQuery("CR-2024-000187", "CR2024000187", None, ())),
    ("12", AccountQuery("12", None, None, ())),
    ("PA-123", AccountQuery("PA-123", "PA123", None, ())),
    ("ana\x00b\tc", AccountQuery("ana b c", None, None, ("ana", "b", "c"))),
    ("   ", AccountQuery("", None, None, ())),
])
def test_a_typed_text_is_read_as_a_reference_an_id_number_a_phone_and_a_name(typed: str, read: AccountQuery) -> None:
    assert read_query(typed, country="CO") == read


def test_a_national_phone_is_read_in_the_client_companys_country() -> None:
    assert read_query("987 654 321", country="PE").phone == "+51987654321"
    assert read_query("987 654 321", country="CO").phone != "+51987654321"


def test_a_name_with_many_words_and_a_long_text_are_bounded() -> None:
    assert len(read_query("a b c d e f g h i j", country="CO").name_words) == 6
    assert read_query("gomez gomez GÓMEZ", country="CO").name_words == ("gomez",)
    assert len(read_query("x" * 10_000, country="CO").reference) == MAX_QUERY_CHARS


def test_the_database_folds_accents_as_plain_does() -> None:
    assert len(ACCENTED) == len(UNACCENTED)
    for accented, folded in zip(ACCENTED, UNACCENTED, strict=True):
        assert plain(accented) == folded, accented
