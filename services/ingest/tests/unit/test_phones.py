"""The phone fast path gives exactly what phonenumbers gives (parse, is_valid_number, format_number in E.164), on
many generated numbers of the countries Recaudo serves and others, in every form a file may write them; and a
Mexican number written as before 2019 is the number it is now."""

import random

import phonenumbers
import pytest

from ingest.domain.phones import _phonenumbers_e164, _slow, normalise_phone

pytestmark = pytest.mark.unit
COUNTRIES = ("CO", "MX", "PE", "CL", "EC", "AR", "BR", "GT", "CR", "PA", "DO", "UY", "PY", "BO", "SV", "HN", "NI",
             "VE", "ES", "US", "CA", "GB", "IT", "DE", "FR", "RU", "co", "XX", "ZZ")
SEPARATORS = ("", " ", "-", ".", "  ", "/", "(", ")", "+", "x", "#", ",", ";", "–", "\u00a0")


def _written(rnd: random.Random, digits: str) -> str:
    """The digits as a person might have typed them: in groups, with separators, sometimes with stray marks."""
    out, i = [], 0
    while i < len(digits):
        step = rnd.randint(1, 4)
        out.append(digits[i:i + step])
        i += step
    glue = rnd.choice(SEPARATORS[:5]) if rnd.random() < 0.8 else rnd.choice(SEPARATORS)
    text = glue.join(out)
    if rnd.random() < 0.1:
        text = rnd.choice(SEPARATORS) + text
    if rnd.random() < 0.1:
        text += rnd.choice(SEPARATORS)
    return text


def _numbers(rnd: random.Random, country: str) -> list[str]:
    region = country.upper()
    cc = str(phonenumbers.country_code_for_region(region)) if region in phonenumbers.SUPPORTED_REGIONS else "1"
    examples = []
    for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE,
                 phonenumbers.PhoneNumberType.TOLL_FREE):
        example = phonenumbers.example_number_for_type(region, kind) if region in phonenumbers.SUPPORTED_REGIONS \
            else None
        if example is not None:
            examples.append(phonenumbers.national_significant_number(example))
    found = []
    for _ in range(4000):
        shape = rnd.random()
        if examples and shape < 0.5:  # a real number of the country with its last digits changed
            base = rnd.choice(examples)
            keep = rnd.randint(max(1, len(base) - 7), len(base))
            digits = base[:keep] + "".join(rnd.choice("0123456789") for _ in range(len(base) - keep))
            if rnd.random() < 0.15:
                digits = digits[:-1] if rnd.random() < 0.5 else digits + rnd.choice("0123456789")
        else:  # any digits at all
            digits = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 18)))
        prefix = rnd.random()
        if prefix < 0.1:
            digits = cc + digits
        elif prefix < 0.2:
            digits = "0" + digits
        elif prefix < 0.25:
            digits = "00" + cc + digits
        elif prefix < 0.3:
            digits = rnd.choice(("01", "044", "045", "09", "1", "15", "19", "011", "03", "07")) + digits
        found.append(_written(rnd, digits))
    return found


@pytest.mark.parametrize("country", COUNTRIES)
def test_the_fast_path_gives_what_phonenumbers_gives(country: str) -> None:
    rnd = random.Random(f"phones-{country}")
    numbers = _numbers(rnd, country)
    differing = [(n, _phonenumbers_e164(n, country), _slow(n, country)) for n in numbers
                 if _phonenumbers_e164(n, country) != _slow(n, country)]
    assert not differing, differing[:20]
    assert sum(_slow(n, country) is not None for n in numbers) > (400 if country.upper() == country and
                                                                   country not in ("XX", "ZZ") else -1)


def test_the_common_forms() -> None:
    for raw in ("3001234567", "300 123 4567", "300-123-4567", "300.123.4567"):
        assert normalise_phone(raw, "CO") == "+573001234567"
    assert normalise_phone("123", "CO") is None
    assert normalise_phone("+52 55 1234 5678", "CO") == _slow("+52 55 1234 5678", "CO")
    assert normalise_phone("55 1234 5678", "MX") == _slow("55 1234 5678", "MX") == "+525512345678"


@pytest.mark.parametrize("raw", [
    "+52 1 55 1234 5678", "+521 55 1234 5678", "+5215512345678", "52 1 55 1234 5678", "5215512345678",
    "1 55 1234 5678", "044 55 1234 5678", "045 55 1234 5678", "01 55 1234 5678", "(044) 55-1234-5678",
])
def test_a_mexican_number_written_as_before_2019_is_the_number_it_is_now(raw: str) -> None:
    # Mexico dialled mobiles as +52 1 and 044/045 and long distance as 01 until the IFT's plan of August 2019
    # dropped them; phonenumbers no longer reads them, and portfolios kept since still write them.
    assert normalise_phone(raw, "MX") == "+525512345678"


def test_a_mexican_number_of_another_clients_country_is_read_so_too() -> None:
    assert normalise_phone("+52 1 55 1234 5678", "CO") == "+525512345678"
    assert normalise_phone("52 1 55 1234 5678", "CO") is None  # without its '+', a number of Colombia


@pytest.mark.parametrize("raw", ["1 55 1234 567", "044 55 1234 56789", "2 55 1234 5678", "+52 1 00 1234 5678",
                                 "+52 1 1 55 1234 5678", "+52 2 55 1234 5678"])
def test_only_a_valid_mexican_number_is_read_from_its_old_form(raw: str) -> None:
    assert normalise_phone(raw, "MX") is None
