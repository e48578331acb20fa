"""The vault schema: each person's pseudonymous id and wrapped data key, blind-index lookups, the erasures made.

Shredding deletes the data key, so every sealed copy of the person's data, wherever it was copied, is unreadable.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import sql
from recaudo_common.ids import time_ordered_id
from recaudo_common.personal_data.blind_index import LookupKind, NotIndexable, blind_index, normalised
from recaudo_common.personal_data.keyring import MasterKeyring
from recaudo_common.personal_data.sealing import new_data_key
from recaudo_common.settings import PlatformSettings

# How long a process may keep using a data key it read: after a shred in ANOTHER process, this process can still
# open (not re-read: the key is gone from the database) the person's data for at most this long. The process that
# shreds forgets the key at once.
KEY_CACHE_TTL_S = 30.0


@dataclass(frozen=True)
class Person:
    """One person of one client company: the pseudonymous id that travels instead of their data, and their key."""

    client: str
    debtor_ref: UUID
    key: bytes = field(repr=False)


@dataclass
class _KeyCache:
    ttl_s: float
    monotonic: Callable[[], float]
    entries: dict[tuple[str, UUID], tuple[bytes, float]] = field(default_factory=dict)

    def get(self, client: str, debtor_ref: UUID) -> bytes | None:
        found = self.entries.get((client, debtor_ref))
        if found is None:
            return None
        key, expires = found
        if self.monotonic() >= expires:
            del self.entries[(client, debtor_ref)]
            return None
        return key

    def put(self, client: str, debtor_ref: UUID, key: bytes) -> None:
        if self.ttl_s > 0:
            self.entries[(client, debtor_ref)] = (key, self.monotonic() + self.ttl_s)

    def forget(self, client: str, debtor_ref: UUID) -> None:
        self.entries.pop((client, debtor_ref), None)


class Vault:
    """Finds or creates people by blind index, hands out their data keys, and shreds them. Every method works in
    the caller's transaction (an AsyncSession), so a person created with the first event about them commits or
    rolls back with it."""

    def __init__(self, keyring: MasterKeyring, *, key_cache_ttl_s: float = KEY_CACHE_TTL_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.keyring = keyring
        # Only keys found are cached, never an absence: a person just created elsewhere is seen at once.
        self._keys = _KeyCache(key_cache_ttl_s, monotonic)

    @classmethod
    def from_settings(cls, settings: PlatformSettings, *, key_cache_ttl_s: float = KEY_CACHE_TTL_S) -> Vault:
        return cls(MasterKeyring.from_text(settings.vault_master_key, settings.vault_previous_master_keys),
                   key_cache_ttl_s=key_cache_ttl_s)

    def _digests(self, client: str, kind: LookupKind, value: str) -> list[bytes]:
        # One digest per master key, the current first: a person indexed before a rotation is still found.
        return [blind_index(k.blind_index_key, client, kind, value) for k in self.keyring.all]

    async def find(self, s: AsyncSession, client: str, kind: LookupKind, value: str) -> UUID | None:
        """The person of `client` whose `kind` is `value`, or None (never held, shredded, or a value with nothing to
        index, which no one can have been indexed by: an id number in a request's path that is only punctuation)."""
        try:
            digests = self._digests(client, kind, value)
        except NotIndexable:
            return None
        row = await s.execute(sql(
            "SELECT debtor_ref FROM vault.lookups WHERE client_slug = :client AND kind = :kind"
            " AND digest = ANY(CAST(:digests AS bytea[])) LIMIT 1"),
            {"client": client, "kind": kind, "digests": digests})
        found: UUID | None = row.scalar_one_or_none()
        return found

    async def person_for(self, s: AsyncSession, client: str, id_number: str, now: dt.datetime) -> Person:
        """The person of `client` with this id number, created (new debtor_ref, new key) if none is held.
        Two callers at once for the same id number get the same person: the lookup row is claimed with
        INSERT ... ON CONFLICT, and the loser (which waits for the winner's commit) reads the winner's."""
        for _ in range(3):  # a lost race is settled on the next round; more rounds mean something else is wrong
            if (found := await self.find(s, client, "id_number", id_number)) is not None:
                key = await self.key_of(s, client, found)
                if key is not None:
                    await self._index_current(s, client, found, "id_number", id_number)
                    return Person(client, found, key)
            created = await self._create(s, client, id_number, now)
            if created is not None:
                return created
            # Lost the race to another transaction that has committed its person since: read it (next round).
        raise RuntimeError("vault: the person's lookup kept changing while it was being found or created")

    async def _create(self, s: AsyncSession, client: str, id_number: str, now: dt.datetime) -> Person | None:
        debtor_ref, key = time_ordered_id(), new_data_key()
        wrapped, master_id = self.keyring.wrap(key)
        digest = blind_index(self.keyring.current.blind_index_key, client, "id_number", id_number)
        # The lookup is claimed first and the person inserted only if the claim won, in one statement (the foreign
        # key is checked at its end), so a lost race leaves no orphan person behind.
        row = await s.execute(sql(
            "WITH claimed AS (INSERT INTO vault.lookups (client_slug, kind, digest, debtor_ref)"
            " VALUES (:client, 'id_number', :digest, :ref) ON CONFLICT DO NOTHING RETURNING debtor_ref)"
            " INSERT INTO vault.people (client_slug, debtor_ref, wrapped_key, master_key_id, created_at)"
            " SELECT :client, debtor_ref, :wrapped, :master, :now FROM claimed RETURNING debtor_ref"),
            {"client": client, "digest": digest, "ref": debtor_ref, "wrapped": wrapped, "master": master_id,
             "now": now})
        # Not cached: until the caller commits, this person may yet be rolled back.
        return Person(client, debtor_ref, key) if row.scalar_one_or_none() is not None else None

    async def _index_current(self, s: AsyncSession, client: str, debtor_ref: UUID, kind: LookupKind,
                             value: str) -> None:
        # After a rotation a person found through an older key's digest gets the current key's too, so the old
        # master key can leave the keyring once the people still needing it have been seen.
        if len(self.keyring.all) > 1:
            await self.index(s, client, debtor_ref, kind, value)

    async def key_of(self, s: AsyncSession, client: str, debtor_ref: UUID) -> bytes | None:
        """The person's data key, or None: never held, or shredded. Cached for KEY_CACHE_TTL_S."""
        if (cached := self._keys.get(client, debtor_ref)) is not None:
            return cached
        row = (await s.execute(sql(
            "SELECT wrapped_key, master_key_id FROM vault.people WHERE client_slug = :client AND debtor_ref = :ref"),
            {"client": client, "ref": debtor_ref})).one_or_none()
        if row is None:
            return None
        key = self.keyring.unwrap(bytes(row.wrapped_key), row.master_key_id)
        self._keys.put(client, debtor_ref, key)
        return key

    async def keys_of(self, s: AsyncSession, client: str, debtor_refs: Iterable[UUID]) -> dict[UUID, bytes]:
        """key_of for many people in one statement; the people never held or shredded are absent."""
        found: dict[UUID, bytes] = {}
        missing: list[UUID] = []
        for ref in set(debtor_refs):
            cached = self._keys.get(client, ref)
            if cached is None:
                missing.append(ref)
            else:
                found[ref] = cached
        if missing:
            rows = (await s.execute(sql(
                "SELECT debtor_ref, wrapped_key, master_key_id FROM vault.people"
                " WHERE client_slug = :client AND debtor_ref = ANY(:refs)"),
                {"client": client, "refs": missing})).all()
            for row in rows:
                key = self.keyring.unwrap(bytes(row.wrapped_key), row.master_key_id)
                self._keys.put(client, row.debtor_ref, key)
                found[row.debtor_ref] = key
        return found

    async def index(self, s: AsyncSession, client: str, debtor_ref: UUID, kind: LookupKind, value: str) -> bool:
        """Makes `value` (a phone, an e-mail) find the person. False when it already finds another person of
        the same client company (a shared phone): the first holder keeps it."""
        digest = blind_index(self.keyring.current.blind_index_key, client, kind, value)
        row = await s.execute(sql(
            "INSERT INTO vault.lookups (client_slug, kind, digest, debtor_ref)"
            " SELECT :client, :kind, :digest, debtor_ref FROM vault.people"
            " WHERE client_slug = :client AND debtor_ref = :ref"
            " ON CONFLICT (client_slug, kind, digest) DO UPDATE SET debtor_ref = vault.lookups.debtor_ref"
            " RETURNING debtor_ref"),
            {"client": client, "kind": kind, "digest": digest, "ref": debtor_ref})
        holder: UUID | None = row.scalar_one_or_none()
        return holder == debtor_ref

    async def people_for(self, s: AsyncSession, client: str, id_numbers: Sequence[str], now: dt.datetime
                         ) -> dict[str, Person]:
        """person_for for many id numbers in a few statements, whatever their number (a batch of an upload): one
        read of the lookups with the people's keys, one insert of the people not held, and, only after a lost
        race, one re-read. Keyed by each id number as given; those that normalise alike (`1.020.304` and
        `1020304`) get the same person. NotIndexable, before any statement, for an id number with nothing to
        index. The same race-safety as person_for: the insert waits for a transaction claiming the same id
        number and, once it has committed, the re-read finds its person."""
        given_as: dict[str, list[str]] = {}  # normalised -> the spellings given
        for given in dict.fromkeys(id_numbers):
            given_as.setdefault(normalised("id_number", given), []).append(given)
        people: dict[str, Person] = {}
        pending = list(given_as)
        for _ in range(3):  # as in person_for: a lost race is settled on the next round
            people |= await self._found(s, client, pending)
            missing = [t for t in pending if t not in people]
            if missing:
                people |= await self._create_many(s, client, missing, now)
            if len(people) == len(given_as):
                return {given: people[t] for t, spellings in given_as.items() for given in spellings}
            pending = [t for t in pending if t not in people]
        raise RuntimeError("vault: people's lookups kept changing while they were being found or created")

    async def _found(self, s: AsyncSession, client: str, id_numbers: Sequence[str]) -> dict[str, Person]:
        """The people held for these normalised id numbers, with their keys, read in one statement."""
        if not id_numbers:
            return {}
        owner: dict[bytes, str] = {}  # every master key's digest -> its id number
        current: dict[str, bytes] = {}
        for number in id_numbers:
            digests = self._digests(client, "id_number", number)
            current[number] = digests[0]
            owner.update(dict.fromkeys(digests, number))
        rows = (await s.execute(sql(
            "SELECT l.digest, l.debtor_ref, p.wrapped_key, p.master_key_id FROM vault.lookups l"
            " JOIN vault.people p ON p.client_slug = l.client_slug AND p.debtor_ref = l.debtor_ref"
            " WHERE l.client_slug = :client AND l.kind = 'id_number' AND l.digest = ANY(CAST(:digests AS bytea[]))"),
            {"client": client, "digests": list(owner)})).all()
        found: dict[str, Person] = {}
        current_digests = set(current.values())
        for row in sorted(rows, key=lambda r: bytes(r.digest) not in current_digests):  # the current key's first
            number = owner[bytes(row.digest)]
            if number in found:
                continue
            if (key := self._keys.get(client, row.debtor_ref)) is None:
                key = self.keyring.unwrap(bytes(row.wrapped_key), row.master_key_id)
                self._keys.put(client, row.debtor_ref, key)
            found[number] = Person(client, row.debtor_ref, key)
        if len(self.keyring.all) > 1:  # after a rotation: those found through an older key's digest get the current
            held = {bytes(r.digest) for r in rows}
            await self._claim(s, client, [("id_number", current[n], p.debtor_ref) for n, p in found.items()
                                          if current[n] not in held])
        return found

    async def _create_many(self, s: AsyncSession, client: str, id_numbers: Sequence[str], now: dt.datetime
                           ) -> dict[str, Person]:
        """New people for these normalised id numbers, those whose lookup this transaction claimed (as _create)."""
        index_key = self.keyring.current.blind_index_key
        # In digest order, as every batch claims them: two batches sharing id numbers wait, never deadlock. Each
        # debtor_ref is time-ordered, so a batch's new people land at the end of people's key, of lookups_by_person
        # and of every service's index by debtor; it tells no more than the person's created_at.
        wanted = sorted((blind_index(index_key, client, "id_number", n), n, time_ordered_id(), new_data_key())
                        for n in id_numbers)
        rows = await s.execute(sql(
            "WITH wanted AS (SELECT * FROM unnest(CAST(:digests AS bytea[]), CAST(:refs AS uuid[]),"
            " CAST(:wrapped AS bytea[])) AS w(digest, debtor_ref, wrapped_key)),"
            " claimed AS (INSERT INTO vault.lookups (client_slug, kind, digest, debtor_ref)"
            " SELECT :client, 'id_number', digest, debtor_ref FROM wanted ORDER BY digest"
            " ON CONFLICT DO NOTHING RETURNING debtor_ref)"
            " INSERT INTO vault.people (client_slug, debtor_ref, wrapped_key, master_key_id, created_at)"
            " SELECT :client, w.debtor_ref, w.wrapped_key, :master, :now FROM claimed JOIN wanted w USING (debtor_ref)"
            " RETURNING debtor_ref"),
            {"client": client, "digests": [w[0] for w in wanted], "refs": [w[2] for w in wanted],
             "wrapped": [self.keyring.wrap(w[3])[0] for w in wanted], "master": self.keyring.current.id,
             "now": now})
        created = set(rows.scalars().all())
        # Not cached: until the caller commits, these people may yet be rolled back.
        return {number: Person(client, ref, key) for _, number, ref, key in wanted if ref in created}

    async def index_many(self, s: AsyncSession, client: str,
                         values: Iterable[tuple[UUID, LookupKind, str]]) -> int:
        """index for many (person, kind, value) in one statement: each value then finds its person, unless it
        already finds another person of the same client company (the first holder keeps it, and within `values`
        the first given). Values with nothing to index (NotIndexable: a phone not in E.164, an empty e-mail) and
        people not held are skipped. How many lookups it added."""
        index_key = self.keyring.current.blind_index_key
        claims: dict[tuple[LookupKind, bytes], UUID] = {}
        for debtor_ref, kind, value in values:
            try:
                digest = blind_index(index_key, client, kind, value)
            except NotIndexable:
                continue
            claims.setdefault((kind, digest), debtor_ref)
        return await self._claim(s, client, [(kind, digest, ref) for (kind, digest), ref in claims.items()])

    async def _claim(self, s: AsyncSession, client: str, lookups: Sequence[tuple[LookupKind, bytes, UUID]]) -> int:
        if not lookups:
            return 0
        ordered = sorted(lookups)  # one order for every transaction: concurrent batches wait, never deadlock
        # Counted in the database: a batch's thousands of claimed rows need not travel back one by one.
        added = await s.scalar(sql(
            "WITH added AS (INSERT INTO vault.lookups (client_slug, kind, digest, debtor_ref)"
            " SELECT :client, w.kind, w.digest, p.debtor_ref FROM unnest(CAST(:kinds AS text[]),"
            " CAST(:digests AS bytea[]), CAST(:refs AS uuid[])) WITH ORDINALITY AS w(kind, digest, debtor_ref, n)"
            " JOIN vault.people p ON p.client_slug = :client AND p.debtor_ref = w.debtor_ref ORDER BY w.n"
            " ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM added"),
            {"client": client, "kinds": [k for k, _, _ in ordered], "digests": [d for _, d, _ in ordered],
             "refs": [r for _, _, r in ordered]})
        return int(added or 0)

    async def shred(self, s: AsyncSession, client: str, debtor_ref: UUID, reason: str, now: dt.datetime) -> bool:
        """Erases the person: their key and lookups go, the erasure is registered. True when this call erased
        them; False when already erased or never held (idempotent)."""
        gone = await s.execute(sql(
            "DELETE FROM vault.people WHERE client_slug = :client AND debtor_ref = :ref RETURNING debtor_ref"),
            {"client": client, "ref": debtor_ref})
        self._keys.forget(client, debtor_ref)
        if gone.scalar_one_or_none() is None:
            return False
        await s.execute(sql(
            "INSERT INTO vault.shredded (client_slug, debtor_ref, shredded_at, reason)"
            " VALUES (:client, :ref, :now, :reason) ON CONFLICT (debtor_ref) DO NOTHING"),
            {"client": client, "ref": debtor_ref, "now": now, "reason": reason})
        return True

    async def rewrap(self, s: AsyncSession, *, limit: int = 1000) -> int:
        """Re-wraps up to `limit` data keys still wrapped by a previous master key under the current one; how many
        it did (run it until 0 after a rotation, then the previous key can leave the keyring as far as keys go;
        lookups made under it are found again only once each person is seen by person_for or index)."""
        rows = (await s.execute(sql(
            "SELECT debtor_ref, wrapped_key, master_key_id FROM vault.people WHERE master_key_id <> :current"
            " ORDER BY debtor_ref LIMIT :limit FOR UPDATE SKIP LOCKED"),
            {"current": self.keyring.current.id, "limit": limit})).all()
        for row in rows:
            wrapped, master_id = self.keyring.wrap(self.keyring.unwrap(bytes(row.wrapped_key), row.master_key_id))
            await s.execute(sql(
                "UPDATE vault.people SET wrapped_key = :wrapped, master_key_id = :master WHERE debtor_ref = :ref"),
                {"wrapped": wrapped, "master": master_id, "ref": row.debtor_ref})
        return len(rows)

    async def reapply_erasures(self, s: AsyncSession) -> int:
        """After a restore from a backup older than some erasures (with the register of erasures kept apart and
        loaded back into vault.shredded), deletes again the keys the backup brought back. How many it deleted."""
        gone = await s.execute(sql(
            "DELETE FROM vault.people p USING vault.shredded e"
            " WHERE p.debtor_ref = e.debtor_ref AND p.client_slug = e.client_slug RETURNING p.client_slug,"
            " p.debtor_ref"))
        rows = gone.all()
        for row in rows:
            self._keys.forget(row.client_slug, row.debtor_ref)
        return len(rows)
