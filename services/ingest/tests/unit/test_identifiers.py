"""Whether a raw cell names a person, whatever the spelling the client's file used: what an erasure relies on to
find every rejected row of theirs, and what keeps it from erasing another person's."""

import pytest

from ingest.domain.identifiers import Identifiers, national_digits, plain

pytestmark = pytest.mark.unit
ANA = Identifiers.of(id_numbers=["1.020.304.050"], phones=["+573001234567"], emails=["Ana@Correo.co"],
                     names=["Ana María Pérez"])


@pytest.mark.parametrize("cell", [
    "1020304050", "1.020.304.050", "CC 1020304050", "cc1020304050", "1020304050-7",
    "3001234567", "300 123 4567", "(300) 123-4567", "+57 300 1234567", "573001234567", "tel 300.123.4567 / 310",
    "ana@correo.co", "ANA@CORREO.CO", "escribir a ana@correo.co",
    "Ana María Pérez", "ANA MARIA PEREZ", "  ana   maría  pérez ", "Pérez, Ana María (titular)",
])
def test_a_cell_that_names_her_in_any_spelling(cell: str) -> None:
    assert ANA.named_in(cell)


@pytest.mark.parametrize("cell", [
    "", "1020304051", "10203", "300 123 456", "ana@correo.com.co.x".replace("ana@", "eva@"), "Ana María",
    "Ana María Pérezgómez", "Luis Pérez", "1.500.000", "2026-03-01",
])
def test_a_cell_that_does_not(cell: str) -> None:
    assert not ANA.named_in(cell)


def test_a_short_id_number_is_matched_only_as_the_whole_cell() -> None:
    short = Identifiers.of(id_numbers=["101"], phones=[], emails=[], names=[])
    assert short.named_in("101") and short.named_in("1.01") and short.named_in("CC 101")
    assert not short.named_in("1010") and not short.named_in("$ 101.000")


def test_spellings() -> None:
    assert plain("  PÉREZ,  Ana ") == "perez ana"
    assert national_digits("+573001234567") == "3001234567" and national_digits("+5712") is None
    assert not Identifiers.of(id_numbers=["--"], phones=["x"], emails=[" "], names=["  "])
    assert ANA.name_spellings(["Ana María Pérez"]) == ["MARIA", "MARÍA", "Maria", "María", "maria", "maría"]
    assert Identifiers.of(id_numbers=[], phones=[], emails=[], names=["Ana"]).named_in("ana")
