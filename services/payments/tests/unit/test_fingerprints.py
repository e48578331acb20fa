"""Request fingerprints: keyed, so the row that keeps one does not give back the id number it was computed over; and
comparable with what rows recorded under a previous master key, or before fingerprints were keyed, hold."""

import hashlib
import json
import os
import re

import pytest

from payments.domain.fingerprints import ERASED, fingerprint
from recaudo_common.personal_data import MasterKeyring

pytestmark = pytest.mark.unit

OLD, NEW, OTHER = (os.urandom(32) for _ in range(3))
# A gateway's notification naming the payer by id number, as webhooks.content_of fingerprints it.
SAID = {"type": "payment", "client": "banco", "amount": "30000.00", "currency": "COP", "account_ref": "ANA-1",
        "link_token": None, "debtor_id": "1020304050", "refers_to": None}


def plain_sha256(content: object) -> str:
    """What fingerprints were before they were keyed."""
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def test_a_recorded_fingerprint_is_keyed_and_names_its_master_key() -> None:
    keyring = MasterKeyring(NEW)
    recorded = fingerprint(keyring.all, SAID).recorded
    assert re.fullmatch(rf"k1:{keyring.current.id}:[0-9a-f]{{64}}", recorded)
    # Someone with the table but not the key: trying every id number with SHA-256 never finds this row.
    assert plain_sha256(SAID) not in recorded
    # Under another platform's master key the same request has another fingerprint.
    assert fingerprint(MasterKeyring(OTHER).all, SAID).recorded.split(":")[2] != recorded.split(":")[2]


def test_the_same_request_is_the_same_whatever_the_order_of_its_fields_and_another_is_not() -> None:
    keys = MasterKeyring(NEW).all
    recorded = fingerprint(keys, SAID).recorded
    assert fingerprint(keys, dict(reversed(list(SAID.items())))).same_as(recorded) is True
    assert fingerprint(keys, {**SAID, "amount": "30000.01"}).same_as(recorded) is False
    assert fingerprint(keys, {**SAID, "debtor_id": "1020304051"}).same_as(recorded) is False


def test_after_a_rotation_a_fingerprint_recorded_under_the_previous_key_still_compares() -> None:
    before = fingerprint(MasterKeyring(OLD).all, SAID).recorded
    rotated = MasterKeyring(NEW, previous=[OLD])
    again = fingerprint(rotated.all, SAID)
    assert again.recorded != before and again.recorded.split(":")[1] == rotated.current.id
    assert again.same_as(before) is True
    assert fingerprint(rotated.all, {**SAID, "amount": "1.00"}).same_as(before) is False
    # Once the old key has left the keyring nothing can tell: the caller decides by the id alone.
    assert fingerprint(MasterKeyring(NEW).all, SAID).same_as(before) is None


def test_rows_recorded_before_fingerprints_were_keyed_still_compare_in_the_plain_form() -> None:
    keys = MasterKeyring(NEW).all
    assert fingerprint(keys, SAID).same_as(plain_sha256(SAID)) is True
    assert fingerprint(keys, {**SAID, "amount": "1.00"}).same_as(plain_sha256(SAID)) is False


def test_none_recorded_or_erased_tells_nothing() -> None:
    now = fingerprint(MasterKeyring(NEW).all, SAID)
    assert now.same_as(None) is None
    assert now.same_as(ERASED) is None


def test_a_fingerprint_needs_a_key() -> None:
    with pytest.raises(ValueError, match="current master key"):
        fingerprint((), SAID)
