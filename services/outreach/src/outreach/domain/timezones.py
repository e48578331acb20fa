"""The debtor's local time zone: from the account's region where the country spans several zones, else the
client company's. Region names are matched without case or accents (portfolios spell them many ways)."""

from __future__ import annotations

import unicodedata

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
                         "ks", "kansas", "ne", "nebraska", "ar", "arkansas", "tn", "tennessee"),
                        "America/Chicago"),
        **dict.fromkeys(("ak", "alaska"), "America/Anchorage"),
        **dict.fromkeys(("hi", "hawaii"), "Pacific/Honolulu"),
        **dict.fromkeys(("pr", "puerto rico"), "America/Puerto_Rico"),
    },
}


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(letters.lower().replace(".", " ").replace("-", " ").split())


def debtor_zone(country: str, region: str | None, client_zone: str) -> str:
    if not region:
        return client_zone
    return REGION_ZONES.get(country, {}).get(_plain(region), client_zone)
