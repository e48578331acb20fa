"""A signature, token or key that is not ASCII is refused like any wrong one, never a crash: the server decodes
header bytes as Latin-1, and `hmac.compare_digest` raises on a str that is not ASCII (which answered 500)."""

import datetime as dt

import pytest

from recaudo_common.auth import hash_key
from recaudo_common.payment_links import make_token, read_token
from recaudo_common.webhook_signatures import sign, signature_problem

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
# What Starlette makes of the UTF-8 bytes of "é" and of a lone 0xff byte: Latin-1 characters.
LATIN1 = ["é".encode().decode("latin-1"), "\xff", "ñ", "\x80"]


@pytest.mark.parametrize("junk", LATIN1)
def test_a_non_ascii_webhook_signature_is_malformed_not_a_crash(junk: str) -> None:
    body = b'{"payment_id": "p"}'
    good = sign(body, "secret", NOW)
    stamp = int(NOW.timestamp())
    for header in (f"t={stamp},v1={junk * 64}", good + junk, f"t={stamp}{junk},v1=00", junk):
        assert signature_problem(header, body, ["secret"], now=NOW) == "malformed_signature"
    assert signature_problem(good, body, ["secret"], now=NOW) is None


@pytest.mark.parametrize("junk", LATIN1)
def test_a_non_ascii_payment_link_is_not_a_link(junk: str) -> None:
    token = make_token(client="banco", account_ref="A-1", expires_at=NOW + dt.timedelta(days=1), secret="s")
    assert read_token(token[:-2] + junk * 2, secret="s", now=NOW) is None
    assert read_token(token + junk, secret="s", now=NOW) is None
    assert read_token(token, secret="s", now=NOW) is not None


def test_a_non_ascii_api_key_hashes_like_any_other() -> None:
    assert len(hash_key("rk_" + "é" * 10)) == 64
