"""What makes a valid client company."""

from __future__ import annotations

import zoneinfo

from recaudo_common.events import CHANNELS
from recaudo_common.ids import SLUG

COUNTRIES = {"CO", "PE", "MX", "US", "AR", "CL", "EC", "BR", "UY", "PY", "BO", "CR", "PA", "GT", "DO", "SV", "HN"}
LOCALES = {"es-CO", "es-PE", "es-MX", "es-AR", "es-CL", "en-US"}


def client_errors(*, slug: str, country: str, currency: str, timezone: str, locale: str,
                  channels: list[str]) -> list[str]:
    """Every reason why these settings are not a valid client company (empty when valid)."""
    from recaudo_common.money import ISO_4217

    errors = []
    if not SLUG.match(slug):
        errors.append("slug: lowercase letters, digits and '-', 2 to 63 characters")
    if country not in COUNTRIES:
        errors.append(f"country: {country!r} is not a supported ISO 3166 country")
    if currency not in ISO_4217:
        errors.append(f"currency: {currency!r} is not an ISO 4217 code")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        errors.append(f"timezone: {timezone!r} is not an IANA time zone")
    if locale not in LOCALES:
        errors.append(f"locale: {locale!r} is not one of {sorted(LOCALES)}")
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown or not channels:
        errors.append(f"default_authorised_channels: unknown {unknown}" if unknown
                      else "default_authorised_channels: at least one channel")
    return errors
