"""Personal data by crypto-shredding: sealed with a per-person key held (wrapped) in the vault schema."""

from recaudo_common.personal_data.blind_index import LOOKUP_KINDS, LookupKind, NotIndexable, blind_index, normalised
from recaudo_common.personal_data.held import HeldPart, HeldRecord, open_part, seal_part
from recaudo_common.personal_data.keyring import MasterKeyInvalid, MasterKeyring, UnknownMasterKey
from recaudo_common.personal_data.sealing import PersonalData, SealBroken, new_data_key, seal, unseal
from recaudo_common.personal_data.statements import Sealed, personal_of, personal_of_many
from recaudo_common.personal_data.vault import KEY_CACHE_TTL_S, Person, Vault

__all__ = [
    "KEY_CACHE_TTL_S",
    "LOOKUP_KINDS",
    "HeldPart",
    "HeldRecord",
    "LookupKind",
    "MasterKeyInvalid",
    "MasterKeyring",
    "NotIndexable",
    "Person",
    "PersonalData",
    "SealBroken",
    "Sealed",
    "UnknownMasterKey",
    "Vault",
    "blind_index",
    "new_data_key",
    "normalised",
    "open_part",
    "personal_of",
    "personal_of_many",
    "seal",
    "seal_part",
    "unseal",
]
