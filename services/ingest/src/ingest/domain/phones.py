"""A phone as a file writes it, in E.164 or dropped: a fast path for the common national form (digits, maybe in
groups) that gives exactly what phonenumbers gives, and phonenumbers itself for every other form (#24); a
Mexican number in its form from before 2019, which phonenumbers no longer reads; and the several phones one cell
may hold."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

# Digits in groups separated by one space, hyphen or dot ("3001234567", "300 123 4567", "300-123-4567"): the form
# phonenumbers reads as the national number itself when no national prefix, international prefix or country code
# leads it (checked per country below). Anything else (a '+', brackets, letters, an extension) takes the slow path.
_NATIONAL = re.compile(r"[0-9]+(?:[ .\-][0-9]+)*")
_SEPARATORS = str.maketrans("", "", " .-")
# Shorter or longer national numbers are left to phonenumbers (its own bounds are 2 and 17 digits).
_FAST_DIGITS = range(4, 16)


@dataclass(frozen=True)
class _Desc:
    """One kind of number of a country (phonenumbers' PhoneNumberDesc): its lengths (empty: any) and pattern."""

    lengths: frozenset[int]
    pattern: re.Pattern[str]

    def matches(self, digits: str) -> bool:
        return (not self.lengths or len(digits) in self.lengths) and self.pattern.fullmatch(digits) is not None


@dataclass(frozen=True)
class _Plan:
    """What phonenumbers' parse and is_valid_number would look at for a country's national numbers."""

    country_code: str
    international_prefix: re.Pattern[str] | None
    national_prefix: re.Pattern[str] | None
    general: _Desc
    kinds: tuple[_Desc, ...]  # a number of any of these kinds is valid (what _number_type_helper finds not UNKNOWN)

    def e164(self, digits: str) -> str | None:
        if not self.general.matches(digits):
            return None
        if any(kind.matches(digits) for kind in self.kinds):
            return f"+{self.country_code}{digits}"
        return None

    def reads_as_national(self, digits: str) -> bool:
        """Whether phonenumbers would take these digits as the national number unchanged: no leading zero (Italian
        leading zeros), no country code, international prefix or national prefix (carrier codes) at their start."""
        return (digits[0] != "0" and not digits.startswith(self.country_code)
                and (self.international_prefix is None or self.international_prefix.match(digits) is None)
                and (self.national_prefix is None or self.national_prefix.match(digits) is None))


def _desc(desc: object) -> _Desc | None:
    pattern = getattr(desc, "national_number_pattern", None)
    if not pattern:
        return None
    return _Desc(frozenset(getattr(desc, "possible_length", None) or ()), re.compile(pattern))


@functools.cache
def _plan(country: str) -> _Plan | None:
    """The fast path for a country, or None when it has none: unknown to phonenumbers, or sharing its calling
    code with other countries (then phonenumbers finds the country by the number: +1, +7, +44...)."""
    metadata = PhoneMetadata.metadata_for_region(country, None)  # as given: "co" is phonenumbers' own matter
    if metadata is None or metadata.country_code is None \
            or len(COUNTRY_CODE_TO_REGION_CODE.get(metadata.country_code, ())) != 1:
        return None
    general = _desc(metadata.general_desc)
    if general is None:
        return None
    # Any kind makes a number valid, so their order changes no answer: the kinds a portfolio's numbers are (mobile,
    # then fixed line) come first, and a debtor's mobile is one pattern tried instead of ten.
    kinds = tuple(d for d in (_desc(getattr(metadata, name)) for name in (
        "mobile", "fixed_line", "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
        "voicemail")) if d is not None)
    international = metadata.international_prefix
    national = metadata.national_prefix_for_parsing
    return _Plan(str(metadata.country_code), re.compile(international) if international else None,
                 re.compile(national) if national else None, general, kinds)


def normalise_phone(raw: str, country: str) -> str | None:
    """The phone in E.164 if it is a valid number of the country (or, written with a '+', of any), else None:
    what phonenumbers' parse, is_valid_number and format_number say, and a Mexican number written as before
    2019 read as the number it is now."""
    return _phonenumbers_e164(raw, country) or _mexican_before_2019(raw, country)


# Until the IFT's numbering plan of August 2019 Mexico dialled a mobile as +52 1 (or 044/045 at home) and long
# distance as 01, before the ten digits every number has now; phonenumbers no longer reads those forms, and
# portfolios kept since still write them. What follows the old prefix is the number, if it is a valid one.
_MX_BEFORE_2019 = re.compile(r"(?:1|01|04[45])([0-9]{10})")


def _mexican_before_2019(raw: str, country: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        return None
    old = _MX_BEFORE_2019.fullmatch(phonenumbers.national_significant_number(number))
    if number.country_code != 52 or old is None:
        return None
    now = phonenumbers.PhoneNumber(country_code=52, national_number=int(old.group(1)))
    if not phonenumbers.is_valid_number(now):
        return None
    return phonenumbers.format_number(now, phonenumbers.PhoneNumberFormat.E164)


def _phonenumbers_e164(raw: str, country: str) -> str | None:
    """Exactly what phonenumbers says (tests/unit prove it on many numbers), by a fast path for the national forms
    it reads unchanged."""
    if _NATIONAL.fullmatch(raw):
        digits = raw.translate(_SEPARATORS)
        plan = _plan(country) if len(digits) in _FAST_DIGITS else None
        if plan is not None and plan.reads_as_national(digits):
            return plan.e164(digits)
    return _slow(raw, country)


def _slow(raw: str, country: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Between two phones of one cell ("3001234567 / 3109876543", "300 123 4567, 310 987 6543"): never inside one.
_BETWEEN_PHONES = re.compile(r"[/,;|\r\n]+")
# Inside a phone (300-123-4567, 300 123 4567) as often as between two (3001234567-3109876543): a part is split
# at these only when it is no phone whole, and only if a piece then is one. Each with what joins its pieces again.
_INSIDE_OR_BETWEEN = ((re.compile(r"\s*-\s*"), "-"), (re.compile(r"\s+"), " "))
_DIGIT = re.compile(r"[0-9]")
# A phone a program wrote as a float ("3001234567.0": pandas writes a column of numbers with a gap in it so, as a
# workbook's number cell is the phone it shows): read as the number, when it is no phone whole.
_AS_A_FLOAT = re.compile(r"([0-9]+)\.0+")
# The most pieces one phone is written in ("+57 300 123 45 67"): a run of pieces is never longer.
_MOST_PIECES = 6


def phones_in(text: str, country: str) -> list[tuple[str, str | None]]:
    """Each phone a cell holds, as written, with its E.164 form (None: not a valid one). A part between the usual
    separators is one phone if it is valid whole; else, split at hyphens or else at spaces, its phones are the runs
    of pieces that are one (each the shortest, so two phones written in groups with a space between them are two,
    "300 123 4567 310 987 6543"), if any is, a piece without a digit between them ("y", "Cel", "&") being no phone
    and a piece no run makes one read again at spaces; else it is one invalid phone. The parts without a digit are
    together one invalid phone, where the first is: what says there is none ("N/A", "no tiene / no aplica") is said
    once, as every column says it. (phonenumbers alone would read the first of "3001234567;3109876543" and silently
    drop the second.)"""
    found: list[tuple[str, str | None]] = []
    words: list[str] = []
    for part in (p.strip() for p in _BETWEEN_PHONES.split(text)):
        if not part:
            continue
        if _DIGIT.search(part) is None:  # no phone, nor a piece of one (phonenumbers reads none without 3 digits)
            if not words:
                at = len(found)
                found.append((part, None))
            words.append(part)
            continue
        found.extend(_part(part, country, _INSIDE_OR_BETWEEN))
    if len(words) > 1:
        found[at] = ("/".join(words), None)
    return found


def _part(part: str, country: str, separators: tuple[tuple[re.Pattern[str], str], ...]
          ) -> list[tuple[str, str | None]]:
    """The phones of a part between the usual separators (or of a piece of one): itself, or a program's float, or
    the runs of its pieces at the first of `separators` that gives a phone, each piece no run made one read again
    at the separators after it ("3109876543 (oficina)" of "3001234567 - 3109876543 (oficina)", at spaces)."""
    if (whole := normalise_phone(part, country)) is not None:
        return [(part, whole)]
    if (floated := _AS_A_FLOAT.fullmatch(part)) and (whole := normalise_phone(floated[1], country)):
        return [(part, whole)]
    for at, (separator, joiner) in enumerate(separators):
        pieces = [p for p in separator.split(part) if p]
        read = _runs(pieces, joiner, country) if len(pieces) > 1 else []
        if any(e164 for _, e164 in read):
            return [phone for run, e164 in read
                    for phone in ([(run, e164)] if e164 else _part(run, country, separators[at + 1:]))]
    return [(part, None)]


def _runs(pieces: list[str], joiner: str, country: str) -> list[tuple[str, str | None]]:
    """The phones that runs of `pieces` are, each run the shortest that is a valid phone from where the last one
    ended; a piece no run from it makes valid is an invalid phone, one without a digit no phone at all."""
    read: list[tuple[str, str | None]] = []
    start = 0
    while start < len(pieces):
        if _DIGIT.search(pieces[start]) is None:
            start += 1
            continue
        for end in range(start + 1, min(len(pieces), start + _MOST_PIECES) + 1):
            run = joiner.join(pieces[start:end])
            if (e164 := normalise_phone(run, country)) is not None:
                read.append((run, e164))
                start = end
                break
        else:
            read.append((pieces[start], None))
            start += 1
    return read
