"""The rules of people and sessions without I/O: TOTP against RFC 6238's published vectors, the CSRF token, the
password policy, the session cookie read from a Cookie header, and the sign-in throttle."""

import base64
import datetime as dt

import pytest

from recaudo_common import totp
from recaudo_common.identity_settings import IdentitySettings
from recaudo_common.oidc_config import OidcProvider
from recaudo_common.people import email_problem, hash_password, password_matches, password_problem
from recaudo_common.sessions import csrf_matches, csrf_token, session_token_of

pytestmark = pytest.mark.unit

# RFC 6238 Appendix B: the seeds are the ASCII strings below; T0 = 0, X = 30, 8 digits.
SEEDS = {"sha1": b"12345678901234567890", "sha256": b"12345678901234567890123456789012",
         "sha512": b"1234567890123456789012345678901234567890123456789012345678901234"}
VECTORS = [(59, "94287082", "46119246", "90693936"), (1111111109, "07081804", "68084774", "25091201"),
           (1111111111, "14050471", "67062674", "99943326"), (1234567890, "89005924", "91819424", "93441116"),
           (2000000000, "69279037", "90698825", "38618901"), (20000000000, "65353130", "77737706", "47863826")]


@pytest.mark.parametrize(("unix", "sha1", "sha256", "sha512"), VECTORS)
def test_totp_matches_rfc_6238_appendix_b(unix: int, sha1: str, sha256: str, sha512: str) -> None:
    at = dt.datetime.fromtimestamp(unix, dt.UTC)
    for digest, expected in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
        assert totp.totp(SEEDS[digest], at, digits=8, digest=digest) == expected


def test_a_totp_code_is_taken_one_step_either_side_and_no_further() -> None:
    secret = base64.b32encode(SEEDS["sha1"]).decode()
    at = dt.datetime.fromtimestamp(1111111109, dt.UTC)
    code = totp.totp(SEEDS["sha1"], at)
    assert totp.verify(secret, code, at=at)
    assert totp.verify(secret, code, at=at + dt.timedelta(seconds=30))
    assert not totp.verify(secret, code, at=at + dt.timedelta(seconds=90))
    assert not totp.verify(secret, "", at=at) and not totp.verify(secret, "12345a", at=at)


def test_the_csrf_token_belongs_to_its_session_only() -> None:
    token = csrf_token("session-a")
    assert csrf_matches("session-a", token)
    assert not csrf_matches("session-b", token)
    assert not csrf_matches("session-a", None) and not csrf_matches("session-a", "") and not csrf_matches(
        "session-a", "ñ")
    assert "session-a" not in token


def test_the_session_token_is_read_from_the_cookie_header() -> None:
    assert session_token_of("a=1; recaudo_session=abc-_1; b=2") == "abc-_1"
    assert session_token_of("recaudo_session=") is None and session_token_of("") is None
    assert session_token_of("x_recaudo_session=abc") is None


def test_the_password_policy_says_why() -> None:
    assert password_problem("corta", email="a@b.co", min_chars=12) == "the password must have at least 12 characters"
    assert password_problem("x" * 257, email="a@b.co", min_chars=12) == "the password may have at most 256 characters"
    assert password_problem(" Ana@Agencia.co", email="ana@agencia.co", min_chars=8) == (
        "the password may not be the e-mail address")
    assert password_problem("una frase larga de acceso", email="a@b.co", min_chars=12) is None
    assert email_problem("ana@agencia.co") is None
    assert email_problem("ana") and email_problem("ana@agencia") and email_problem("a b@c.co")


async def test_passwords_are_hashed_with_argon2id_and_checked() -> None:
    stored = await hash_password("una frase larga de acceso")
    assert stored.startswith("$argon2id$")
    assert await password_matches(stored, "una frase larga de acceso")
    assert not await password_matches(stored, "otra frase")
    assert not await password_matches(None, "una frase larga de acceso")  # unknown: a dummy hash, still False
    assert not await password_matches("not a hash", "x")


def test_production_refuses_insecure_session_cookies_and_plain_http_providers() -> None:
    provider = OidcProvider(name="agencia", label="Agencia", issuer="http://idp.local", client_id="recaudo")
    problems = IdentitySettings(environment="production", session_cookie_secure=False,
                                oidc_providers=(provider,)).production_problems()
    found = {p.variable: p.problem for p in problems}
    assert found["RECAUDO_SESSION_COOKIE_SECURE"] == "the session cookie would travel without TLS (set it to true)"
    assert found["RECAUDO_OIDC_PROVIDERS"] == "identity provider 'agencia': issuer is not https (http)"
    with pytest.raises(ValueError, match="names their client company"):
        OidcProvider(name="x", label="X", issuer="https://x", client_id="c", create_users_as="client")


def test_the_gate_hands_a_session_cookie_on_as_session_credentials() -> None:
    from recaudo_common.sessions import session_credentials

    assert session_credentials("a=1; recaudo_session=tok") == "Session tok"
    assert session_credentials("a=1") == ""
