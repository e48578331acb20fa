"""Settings of the identity component's people (sessions, passwords, failed sign-ins, identity providers). Only the
unit that mounts identity (ingest) signs people in, so its settings class inherits these and they are its variables
(RECAUDO_INGEST_SESSION_HOURS, ...); every other service checks a session by what its row in the identity schema
says (its expiry and idle timeout are kept with it)."""

from __future__ import annotations

from pydantic import Field

from recaudo_common.oidc_config import OidcProvider
from recaudo_common.settings import PlatformSettings, SettingProblem, not_https


class IdentitySettings(PlatformSettings):
    # A session lasts this long from sign-in and ends sooner when unused this long.
    session_hours: float = Field(12, gt=0, le=24 * 30)
    session_idle_minutes: float = Field(30, gt=0)
    # The session cookie's Secure flag: production refuses it off.
    session_cookie_secure: bool = True
    password_min_chars: int = Field(12, ge=8, le=128)
    # Failed sign-ins let through in 15 minutes, per e-mail and per address, before answering 429 (all replicas).
    sign_in_failures_per_account: int = Field(5, ge=1)
    sign_in_failures_per_address: int = Field(20, ge=1)
    oidc_providers: tuple[OidcProvider, ...] = ()

    def production_problems(self) -> list[SettingProblem]:
        found = super().production_problems()
        if not self.session_cookie_secure:
            found.append(SettingProblem(self.variable("session_cookie_secure"),
                                        "the session cookie would travel without TLS (set it to true)"))
        found.extend(SettingProblem(self.variable("oidc_providers"), f"identity provider {p.name!r}: issuer {wrong}")
                     for p in self.oidc_providers if (wrong := not_https(p.issuer)))
        return found


# The `app.state` name under which the unit that mounts identity puts these settings (console.identity_unit).
IDENTITY_SETTINGS = "identity_settings"
