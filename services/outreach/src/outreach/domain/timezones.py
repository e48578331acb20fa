"""The debtor's local time zone: from the account's region where the country spans several zones, else the client
company's. Region names are matched without case, accents or punctuation, initials with or without their dots
(portfolios spell them many ways). And the zones their phone number says they may be in (its country, for the US
and Mexico its area): a debtor abroad, or a state the region does not name, is contacted only when it is a
reasonable hour there too (contact_law)."""

from __future__ import annotations

import functools
import unicodedata

import phonenumbers
from phonenumbers import timezone as phone_timezones
from phonenumbers.tzdata import TIMEZONE_DATA

# Countries with more than one zone; a region not listed keeps the client company's zone.
REGION_ZONES: dict[str, dict[str, str]] = {
    "MX": {
        "baja california": "America/Tijuana", "bc": "America/Tijuana",
        "baja california sur": "America/Mazatlan", "bcs": "America/Mazatlan",
        "sonora": "America/Hermosillo", "son": "America/Hermosillo",
        "sinaloa": "America/Mazatlan", "sin": "America/Mazatlan", "nayarit": "America/Mazatlan",
        "chihuahua": "America/Chihuahua", "chih": "America/Chihuahua",
        "quintana roo": "America/Cancun", "q roo": "America/Cancun", "qroo": "America/Cancun",
    },
    "US": {
        **dict.fromkeys(("ca", "california", "wa", "washington", "or", "oregon", "nv", "nevada"),
                        "America/Los_Angeles"),
        **dict.fromkeys(("az", "arizona"), "America/Phoenix"),
        **dict.fromkeys(("co", "colorado", "ut", "utah", "nm", "new mexico", "mt", "montana", "wy", "wyoming",
                         "id", "idaho"), "America/Denver"),
        **dict.fromkeys(("tx", "texas", "il", "illinois", "mn", "minnesota", "wi", "wisconsin", "mo", "missouri",
                         "ia", "iowa", "la", "louisiana", "al", "alabama", "ms", "mississippi", "ok", "oklahoma",
                         "ks", "kansas", "ne", "nebraska", "ar", "arkansas", "tn", "tennessee", "nd",
                         "north dakota", "sd", "south dakota"),
                        "America/Chicago"),
        # The states that straddle two zones (Tennessee, Texas, Idaho, Florida, Kentucky, Indiana, Michigan, the
        # Dakotas, Nebraska, Kansas, Oregon) are given their larger zone; the phone's area code adds the other.
        **dict.fromkeys(("ny", "new york", "nj", "new jersey", "pa", "pennsylvania", "ct", "connecticut", "ma",
                         "massachusetts", "ri", "rhode island", "vt", "vermont", "nh", "new hampshire", "me",
                         "maine", "de", "delaware", "md", "maryland", "dc", "district of columbia",
                         "washington dc", "va",
                         "virginia", "wv", "west virginia", "nc", "north carolina", "sc", "south carolina", "ga",
                         "georgia", "fl", "florida", "oh", "ohio", "mi", "michigan", "in", "indiana", "ky",
                         "kentucky"),
                        "America/New_York"),
        **dict.fromkeys(("ak", "alaska"), "America/Anchorage"),
        **dict.fromkeys(("hi", "hawaii"), "Pacific/Honolulu"),
        **dict.fromkeys(("pr", "puerto rico"), "America/Puerto_Rico"),
    },
}


def _plain(text: str) -> str:
    """Lowercase letters and digits without accents, each run of anything else one space ("Q. Roo": "q roo")."""
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalnum() else " " for c in letters.lower()).split())


@functools.cache
def _compact_zones(country: str) -> dict[str, str]:
    """The country's regions with their spaces left out, for names spelt as initials with dots ("N.Y.", "B.C.S.")."""
    return {name.replace(" ", ""): zone for name, zone in REGION_ZONES.get(country, {}).items()}


def debtor_zone(country: str, region: str | None, client_zone: str) -> str:
    if not region:
        return client_zone
    plain = _plain(region)
    return REGION_ZONES.get(country, {}).get(plain) or _compact_zones(country).get(plain.replace(" ", ""),
                                                                                    client_zone)


# More zones than this for one number is a number placed no nearer than a country that spans many (a US toll-free
# number has 42, a Russian mobile 11): it says nothing of the debtor's hour, and would leave hardly any allowed.
MOST_ZONES_OF_A_NUMBER = 3


def _usable(zones: tuple[str, ...]) -> tuple[str, ...]:
    kept = tuple(z for z in zones if "/" in z and not z.startswith("Etc/"))
    return kept if len(kept) <= MOST_ZONES_OF_A_NUMBER else ()


@functools.cache
def _one_entry_codes() -> dict[str, tuple[str, ...]]:
    """The calling codes whose every number the library places in the same zones (57, Colombia; 51, Peru): its
    zone table names the code whole and no longer prefix of it, and its mobile numbers (placed by country, not by
    area) fall in the same zones. Those numbers are read without being parsed, which the scheduler would otherwise
    do for every debtor it decides."""
    keys = sorted(TIMEZONE_DATA)
    whole: dict[str, tuple[str, ...]] = {}
    for i, code in enumerate(keys):
        if len(code) > 3 or int(code) not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE or (
                i + 1 < len(keys) and keys[i + 1].startswith(code)):
            continue  # not a calling code (calling codes are prefix-free), or one placed by area
        mobiles = [phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
                   for region in phonenumbers.region_codes_for_country_code(int(code))]
        if all(m is not None and phone_timezones.time_zones_for_number(m) == TIMEZONE_DATA[code] for m in mobiles):
            whole[code] = _usable(TIMEZONE_DATA[code])
    return whole



@functools.lru_cache(maxsize=16384)
def phone_zones(e164: str) -> tuple[str, ...]:
    """The zones a number (E.164) may be in by its country and, where it has them, its area: none when it says
    nothing (a number the library cannot place, or places only in a country of many zones)."""
    digits, whole = e164.removeprefix("+"), _one_entry_codes()  # built at the first number, not at start-up
    for length in (1, 2, 3):
        if digits[:length] in whole:
            return whole[digits[:length]]
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return ()
    return _usable(phone_timezones.time_zones_for_number(number))
