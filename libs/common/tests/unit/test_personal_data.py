"""Personal data sealed per person: AES-KW against RFC 3394's own vector, seal/unseal bound to its owner, blind
indexes normalised and separated per client company and kind, master keys read and refused in production."""

from __future__ import annotations

import base64
import re
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recaudo_common.personal_data import (
    HeldPart,
    HeldRecord,
    MasterKeyInvalid,
    MasterKeyring,
    NotIndexable,
    PersonalData,
    SealBroken,
    UnknownMasterKey,
    Vault,
    blind_index,
    new_data_key,
    normalised,
    open_part,
    seal,
    seal_part,
    unseal,
)
from recaudo_common.personal_data.keyring import master_key_from_text, master_key_id
from recaudo_common.settings import DEV_VAULT_MASTER_KEY, PlatformSettings

pytestmark = pytest.mark.unit
ANA = PersonalData(full_name="Ana María Pérez", id_number="1020304050", id_type="CC",
                   phones=("+573001234567", "+573109876543"), email="ana.perez@example.com",
                   address="Calle 10 # 20-30, Bogotá")
REF = uuid.UUID("0b6f2d1e-3c4a-4b5c-8d6e-7f8091a2b3c4")
OTHER_REF = uuid.UUID("1c7f3e2f-4d5b-4c6d-9e7f-8091a2b3c4d5")
SEALED = re.compile(r"v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+")


def test_aes_key_wrap_matches_rfc_3394_vector_4_6() -> None:
    # RFC 3394, section 4.6: "Wrap 256 bits of Key Data with a 256-bit KEK".
    kek = bytes.fromhex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
    key_data = bytes.fromhex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F")
    ciphertext = bytes.fromhex("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21")
    keyring = MasterKeyring(kek)
    wrapped, master_id = keyring.wrap(key_data)
    assert wrapped == ciphertext
    assert master_id == master_key_id(kek) == keyring.current.id
    assert keyring.unwrap(ciphertext, master_id) == key_data


def test_seal_and_unseal_round_trip_with_a_fresh_nonce_each_time() -> None:
    key = new_data_key()
    first, second = seal(key, "banco", REF, ANA), seal(key, "banco", REF, ANA)
    assert SEALED.fullmatch(first) and SEALED.fullmatch(second)
    assert first != second  # a fresh 96-bit nonce per seal
    assert first.split(".")[1] != second.split(".")[1]
    assert unseal(key, "banco", REF, first) == ANA == unseal(key, "banco", REF, second)
    assert "=" not in first  # base64url without padding


def test_a_sealed_value_shows_none_of_the_data() -> None:
    sealed = seal(new_data_key(), "banco", REF, ANA)
    for secret in ("Ana", "Pérez", "1020304050", "3001234567", "ana.perez", "Calle 10"):
        assert secret not in sealed
        assert secret.encode() not in base64.urlsafe_b64decode(sealed.split(".")[2] + "==")


def test_a_wrong_or_shredded_key_cannot_open_it() -> None:
    sealed = seal(new_data_key(), "banco", REF, ANA)
    with pytest.raises(SealBroken, match="cannot be opened"):
        unseal(new_data_key(), "banco", REF, sealed)


@pytest.mark.parametrize(("client", "debtor_ref"), [("banco", OTHER_REF), ("telco", REF)])
def test_a_blob_moved_to_another_person_or_client_company_is_refused(client: str, debtor_ref: uuid.UUID) -> None:
    key = new_data_key()
    sealed = seal(key, "banco", REF, ANA)
    with pytest.raises(SealBroken):
        unseal(key, client, debtor_ref, sealed)


@pytest.mark.parametrize("attempt", range(20))
def test_any_altered_character_is_refused(attempt: int) -> None:
    # Random nonces and lengths: some values end in a character whose low bits base64 leaves unused; altering
    # those alone must be refused too (it once opened, one run in a few dozen).
    key = new_data_key()
    sealed = seal(key, "banco", REF, ANA.model_copy(update={"full_name": "Ana" + "ñ" * attempt}))
    prefix_len = len("v1.")
    for at in range(prefix_len, len(sealed)):
        if sealed[at] == ".":
            continue
        for replacement in {"A", "B", chr(ord(sealed[at]) ^ 1) if sealed[at].isalnum() else "C"} - {sealed[at]}:
            altered = sealed[:at] + replacement + sealed[at + 1:]
            with pytest.raises(SealBroken):
                unseal(key, "banco", REF, altered)


@pytest.mark.parametrize("text", [
    "", "v1", "v1..", "v2.AAAAAAAAAAAAAAAA.AAAA", "v1.AAAAAAAAAAAAAAAA", "v1.AAAA.AAAAAAAAAAAAAAAAAAAAAAAA",
    "v1.AAAAAAAAAAAAAAAA.AAAA.AAAA", "v1.AAAAAAAAAAAAAAAA.AA==", "v1.AAAAAAAAAAAAAAAA.!!!!", "v1.AAAAAAAAAAAAAAAA.",
    "v1.AAAAAAAAAAAAAAAA.A", "v1.AAAAAAAAAAAAAAAA.AAAA AAAA", "v1.AAAAAAAAAAAAAAAA.AAAA+AAA",
])
def test_text_that_is_no_sealed_value_is_refused_by_name(text: str) -> None:
    with pytest.raises(SealBroken):
        unseal(new_data_key(), "banco", REF, text)


def test_an_authentic_blob_of_another_shape_is_refused_without_echoing_it() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key, nonce = new_data_key(), b"\x00" * 12
    body = AESGCM(key).encrypt(nonce, b'{"full_name": "Ana Secreta"}', f"banco/{REF}".encode())
    forged = "v1." + base64.urlsafe_b64encode(nonce).decode().rstrip("=") + "." + \
        base64.urlsafe_b64encode(body).decode().rstrip("=")
    with pytest.raises(SealBroken) as refused:
        unseal(key, "banco", REF, forged)
    assert "Ana" not in str(refused.value) and refused.value.__cause__ is None
    assert refused.value.__suppress_context__


text_values = st.text(st.characters(codec="utf-8"), max_size=60)


@given(st.builds(PersonalData, full_name=text_values, id_number=text_values,
                 id_type=st.none() | text_values, phones=st.tuples() | st.tuples(text_values, text_values),
                 email=st.none() | text_values, address=st.none() | text_values),
       st.text(st.characters(codec="ascii", exclude_characters="/"), min_size=1, max_size=20), st.uuids())
def test_any_personal_data_round_trips_for_its_owner_only(data: PersonalData, client: str,
                                                          debtor_ref: uuid.UUID) -> None:
    key = new_data_key()
    sealed = seal(key, client, debtor_ref, data)
    assert SEALED.fullmatch(sealed)
    assert unseal(key, client, debtor_ref, sealed) == data
    with pytest.raises(SealBroken):
        unseal(key, client + "x", debtor_ref, sealed)


@pytest.mark.parametrize(("kind", "spellings"), [
    ("id_number", ["1.020.304.050", "1020304050", " 1020 304 050 ", "1,020,304-050"]),
    ("id_number", ["ab-123456", "AB123456", "Ab 123.456"]),
    ("id_number", ["９００１２３", "900123"]),  # full-width digits from a spreadsheet normalise (NFKC)
    ("email", ["Ana.Perez@Example.COM", "  ana.perez@example.com\t"]),
    ("phone", ["+573001234567", " +573001234567 "]),
])
def test_every_spelling_of_a_value_finds_the_same_person(kind: str, spellings: list[str]) -> None:
    key = MasterKeyring(b"k" * 32).current.blind_index_key
    digests = {blind_index(key, "banco", kind, s) for s in spellings}  # type: ignore[arg-type]
    assert len(digests) == 1
    assert len(digests.pop()) == 32


def test_normalised_spellings() -> None:
    assert normalised("id_number", "1.020.304-5") == "10203045"
    assert normalised("id_number", "pa-x12") == "PAX12"
    assert normalised("email", " Ana@X.CO ") == "ana@x.co"
    assert normalised("phone", "+573001234567") == "+573001234567"


@pytest.mark.parametrize(("kind", "value"), [
    ("id_number", " .-/ "), ("email", "   "), ("phone", "3001234567"), ("phone", "+57 300 123 4567"),
    ("phone", "+0123"), ("phone", ""),
])
def test_a_value_that_normalises_to_nothing_usable_is_refused_without_echoing_it(kind: str, value: str) -> None:
    with pytest.raises(NotIndexable) as refused:
        blind_index(b"k" * 32, "banco", kind, value)  # type: ignore[arg-type]
    assert value.strip() == "" or value.strip() not in str(refused.value)


def test_digests_are_separate_per_client_company_kind_and_master_key() -> None:
    key = MasterKeyring(b"k" * 32).current.blind_index_key
    other_master = MasterKeyring(b"m" * 32).current.blind_index_key
    same = blind_index(key, "banco", "id_number", "1020304050")
    assert blind_index(key, "telco", "id_number", "1020304050") != same
    assert blind_index(key, "banco", "phone", "+1020304050") != blind_index(key, "banco", "email", "+1020304050")
    assert blind_index(other_master, "banco", "id_number", "1020304050") != same
    with pytest.raises(NotIndexable):
        blind_index(key, "ban|co", "id_number", "1")


def test_the_blind_index_key_is_derived_not_the_master_key_itself() -> None:
    master = b"k" * 32
    current = MasterKeyring(master).current
    assert current.blind_index_key != master and len(current.blind_index_key) == 32
    assert current.id == master_key_id(master) and len(current.id) == 16
    assert "k" * 8 not in repr(current) and master.hex() not in current.id


def test_previous_master_keys_unwrap_and_an_unknown_one_is_named() -> None:
    old, new = b"o" * 32, b"n" * 32
    data_key = new_data_key()
    wrapped, old_id = MasterKeyring(old).wrap(data_key)
    rotated = MasterKeyring(new, [old])
    assert rotated.unwrap(wrapped, old_id) == data_key
    assert rotated.wrap(data_key)[1] == master_key_id(new) != old_id
    assert [k.id for k in rotated.all] == [master_key_id(new), old_id]
    with pytest.raises(UnknownMasterKey, match=old_id):
        MasterKeyring(new).unwrap(wrapped, old_id)
    with pytest.raises(UnknownMasterKey):
        rotated.unwrap(wrapped[:-1] + bytes([wrapped[-1] ^ 1]), old_id)


@pytest.mark.parametrize(("text", "problem"), [
    ("not base64!", "is not base64"), (base64.b64encode(b"x" * 31).decode(), "is 31 bytes"),
    (base64.b64encode(b"x" * 33).decode(), "is 33 bytes"),
])
def test_a_master_key_setting_must_be_base64_of_32_bytes(text: str, problem: str) -> None:
    with pytest.raises(MasterKeyInvalid, match=problem):
        master_key_from_text(text)


def test_master_keys_read_from_either_base64_alphabet() -> None:
    raw = bytes(range(200, 232))
    assert master_key_from_text(base64.b64encode(raw).decode()) == raw
    assert master_key_from_text(base64.urlsafe_b64encode(raw).decode()) == raw
    assert master_key_from_text(DEV_VAULT_MASTER_KEY) == b"recaudo-dev-insecure-vault-key!!"


def test_the_vault_reads_its_keyring_from_the_settings() -> None:
    current, previous = base64.b64encode(b"c" * 32).decode(), base64.b64encode(b"p" * 32).decode()
    vault = Vault.from_settings(PlatformSettings(vault_master_key=current, vault_previous_master_keys=(previous,)))
    assert [k.id for k in vault.keyring.all] == [master_key_id(b"c" * 32), master_key_id(b"p" * 32)]
    assert Vault.from_settings(PlatformSettings()).keyring.current.id == master_key_id(
        b"recaudo-dev-insecure-vault-key!!")


def vault_problems(**overrides: object) -> list[str]:
    settings = PlatformSettings(environment="production", **overrides)  # type: ignore[arg-type]
    return [str(p) for p in settings.production_problems() if "VAULT" in p.variable]


def test_production_refuses_the_development_master_key_or_a_malformed_one() -> None:
    good = base64.b64encode(bytes(range(32))).decode()
    assert vault_problems() == ["RECAUDO_VAULT_MASTER_KEY: vault master key is the development default"]
    assert vault_problems(vault_master_key=good) == []
    assert vault_problems(vault_master_key="A" * 44) == [
        "RECAUDO_VAULT_MASTER_KEY: vault master key is 33 bytes once decoded; a master key is 32"]
    assert vault_problems(vault_master_key=good, vault_previous_master_keys=(DEV_VAULT_MASTER_KEY,)) == [
        "RECAUDO_VAULT_PREVIOUS_MASTER_KEYS: a previous vault master key is the development default"]
    assert vault_problems(vault_master_key=good, vault_previous_master_keys=(good,)) == []


def test_a_services_part_of_an_access_request_opens_only_as_that_persons_part() -> None:
    key, ana, beto = new_data_key(), uuid.uuid4(), uuid.uuid4()
    part = HeldPart(records=(HeldRecord(kind="reply", account_ref="A-1", values={"body": "BAJA, soy Ana"}),))
    sealed = seal_part(key, "banco", ana, part)
    assert "BAJA" not in sealed and open_part(key, "banco", ana, sealed) == part
    for client, person, other_key in (("banco", beto, key), ("telco", ana, key), ("banco", ana, new_data_key())):
        with pytest.raises(SealBroken):
            open_part(other_key, client, person, sealed)
    # A sealed identity is not a part, nor a part an identity: each is bound to what it is.
    identity = seal(key, "banco", ana, PersonalData(full_name="Ana", id_number="1"))
    with pytest.raises(SealBroken):
        open_part(key, "banco", ana, identity)
    with pytest.raises(SealBroken):
        unseal(key, "banco", ana, sealed)
