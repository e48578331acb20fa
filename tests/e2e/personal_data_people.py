"""The people, the file and the calls the personal-data tests share (#19): debtors whose every value is unusual
enough that finding it anywhere can only mean a copy of their data, where such a value may be found (a dump of
every schema, in every spelling), and the operator's steps (place a portfolio, pay, recall, erase) through the
public API."""

from __future__ import annotations

import asyncio
import binascii
import datetime as dt
import json
import subprocess
import unicodedata
import uuid
import zoneinfo
from dataclasses import dataclass, replace
from typing import Any

import asyncpg
import httpx

from recaudo_common.db import asyncpg_dsn
from recaudo_common.testing import RunningPlatform, eventually
from recaudo_common.testing_pages import answer_when

OPERATOR_KEY = "rk_e2e_erasure_operator_key_01234567"


@dataclass(frozen=True)
class Person:
    """One debtor as the client company's file states them. Every value is unusual enough that finding it
    anywhere can only mean a copy of this person's data."""

    account_ref: str
    id_number: str
    full_name: str
    mobile: str  # as written in the file, national form with spaces
    landline: str
    email: str
    address: str
    balance: str
    days_past_due: int

    def row(self, account_ref: str | None = None, balance: str | None = None) -> str:
        return (f"{account_ref or self.account_ref};{self.id_number};CURP;{self.full_name};{self.mobile};"
                f"{self.landline};{self.email};{self.address};Jalisco;{balance or self.balance};"
                f"{self.days_past_due}\n")

    def identifiers(self) -> dict[str, str]:
        """What must not survive the person's erasure, by what it is: the name and each of its words (a message
        greets the debtor by first name), the id number, each phone as written, national and E.164, the e-mail
        and the address."""
        found = {"full name": self.full_name, "id number": self.id_number, "e-mail": self.email,
                 "address": self.address}
        found.update({f"name word {word}": word for word in self.full_name.split()})
        for label, written in (("mobile", self.mobile), ("landline", self.landline)):
            national = written.replace(" ", "")
            found.update({f"{label} as written": written, f"{label} national": national,
                          f"{label} E.164": f"+52{national}"})
        return found


HEADER = ("Número Obligación;Identificación;Tipo Identificación;Nombre Completo;Celular;Teléfono;Correo;Dirección;"
          "Estado;Saldo Total;Días Mora\n")
ERASED = Person("P-001", "QUBE800101MDFNRR07", "Eufrasia Quiñones Barrionuevo", "800 864 2193", "800 379 4628",
                "eufrasia.quinones@correo-ejemplo.mx", "Calle Tlaquepaque 4821 Interior 7", "1850000.00", 15)
KEPT = Person("P-002", "ZALT750505HJCPZD04", "Teodomiro Zapatero Lizcano", "800 731 9284", "800 352 1974",
              "teodomiro.zapatero@correo-ejemplo.mx", "Avenida Chapultepec 9137 Piso 3", "920000.00", 45)
# The erased person's contact points as they asked to have them corrected (rectification): more copies to erase.
RECTIFIED = replace(ERASED, mobile="800 902 7361", email="eufrasia.barrionuevo@otro-correo.mx")
# A second row of the erased person, rejected for its balance: ingest keeps its raw cells, another copy.
CSV = HEADER + ERASED.row() + ERASED.row("P-009", "no es un saldo") + KEPT.row()


def spellings(value: str) -> set[str]:
    """How a value may be written in a dump, a record or a log line, lower-cased: as is (composed or decomposed
    accents), JSON-escaped (a json.dumps with ensure_ascii, then that again inside COPY's text format) and as hex
    (bytea, in UTF-8 or Latin-1)."""
    escaped = json.dumps(value)[1:-1]
    return {s.lower() for s in (value, unicodedata.normalize("NFD", value), escaped, escaped.replace("\\", "\\\\"),
                                binascii.hexlify(value.encode()).decode(),
                                binascii.hexlify(value.encode("latin-1", "replace")).decode())}


def leaks(person: Person, haystacks: dict[str, str]) -> list[str]:
    """Which of the person's identifiers appear in which haystack (where: what)."""
    lowered = {where: text.lower() for where, text in haystacks.items()}
    return [f"{where}: {label}" for label, value in person.identifiers().items() for spelling in spellings(value)
            for where, text in lowered.items() if spelling in text]


def mexico_zone_in_contact_hours(now: dt.datetime) -> str:
    """An IANA zone where it is now between 09:00 and 19:00, so Mexican contact law (every day 07-22) lets the
    sandbox send at once: Mexico City when it is, else the nearest whole-hour zone. The people's phones are 800
    numbers, which place them in no zone: a Guadalajara landline (33) placed them in Mexico City too, whose night
    (22-07, 04-13 UTC) the law keeps whatever the client company's zone, so the tests failed at those hours."""
    for offset in sorted(range(-12, 15), key=lambda h: abs(h + 6)):
        zone = "America/Mexico_City" if offset == -6 else f"Etc/GMT{-offset:+d}"
        if 9 <= now.astimezone(zoneinfo.ZoneInfo(zone)).hour < 19:
            return zone
    raise AssertionError("every hour of the day is covered by some zone")


def client_body(slug: str) -> dict[str, str]:
    return {"slug": slug, "name": "Banco Azteca Privacidad S.A.", "country": "MX", "currency": "MXN",
            "timezone": mexico_zone_in_contact_hours(dt.datetime.now(dt.UTC)), "locale": "es-MX"}


async def answered(http: httpx.AsyncClient, url: str, check: Any, message: str, timeout_s: float = 90) -> Any:
    """The JSON answer of `url` once it is 200 and `check` holds (else a failure that shows the last answer)."""
    answer = await answer_when(http, "GET", url, lambda a: a.status_code == 200 and bool(check(a.json())), message,
                               timeout_s=timeout_s, shown_chars=2000)
    return answer.json()


async def place(operator: httpx.AsyncClient, slug: str, csv: str, *, accepted: int, rejected: int) -> str:
    """Creates the client company, uploads its file and waits until its accounts are placed and segmented;
    returns the upload's id."""
    assert (await operator.post("/v1/clients", json=client_body(slug))).status_code == 201
    upload = await operator.post(f"/v1/clients/{slug}/portfolios",
                                 files={"file": ("cartera.csv", csv.encode(), "text/csv")})
    assert upload.status_code == 202, upload.text
    done = await answered(operator, f"/v1/portfolios/{upload.json()['id']}", lambda b: b["status"] == "completed",
                          "upload completed")
    assert (done["rows_accepted"], done["rows_rejected"]) == (accepted, rejected), done
    await answered(operator, f"/v1/clients/{slug}/reports/recovery?group_by=bucket",
                   lambda b: b["totals"]["accounts_placed"] == accepted
                   and all(g["key"] != "unassigned" for g in b["groups"]),
                   "accounts placed and segmented", timeout_s=120)
    return str(upload.json()["id"])


async def totals(operator: httpx.AsyncClient, slug: str) -> dict[str, Any]:
    """The recovery report's totals, overall and by bucket: what an erasure must not change."""
    overall = await operator.get(f"/v1/clients/{slug}/reports/recovery")
    by_bucket = await operator.get(f"/v1/clients/{slug}/reports/recovery", params={"group_by": "bucket"})
    assert overall.status_code == by_bucket.status_code == 200, overall.text
    return {"totals": overall.json()["totals"],
            "groups": sorted((g["key"], g["accounts_placed"], g["recovered"]) for g in by_bucket.json()["groups"])}


async def settled_totals(operator: httpx.AsyncClient, slug: str) -> dict[str, Any]:
    """The totals once two reads a moment apart agree (the report is fed asynchronously)."""
    last: dict[str, Any] = {}

    async def unchanged() -> dict[str, Any]:
        nonlocal last
        current = await totals(operator, slug)
        same, last = current == last, current
        return current if same else {}

    return await eventually(unchanged, timeout_s=60, interval_s=1, message="the report settled")


async def recall(operator: httpx.AsyncClient, slug: str, account_ref: str) -> None:
    recalled = await operator.post(f"/v1/clients/{slug}/recalls", json={"account_refs": [account_ref]})
    assert recalled.status_code == 200, recalled.text
    await answered(operator, f"/v1/clients/{slug}/accounts/{account_ref}", lambda b: b["status"] == "recalled",
                   f"{account_ref} recalled in reporting")


async def cash_payment(operator: httpx.AsyncClient, slug: str, account_ref: str, amount: str) -> None:
    """A payment at the agency's till, tried until payments knows the account (a try before that is kept as
    unmatched, naming only the account)."""

    async def applied() -> bool:
        paid = await operator.post(f"/v1/clients/{slug}/payments", headers={"Idempotency-Key": str(uuid.uuid4())},
                                   json={"account_ref": account_ref, "amount": amount, "method": "cash",
                                         "paid_at": dt.datetime.now(dt.UTC).isoformat()})
        assert paid.status_code == 200, paid.text
        return bool(paid.json()["status"] == "applied")

    await eventually(applied, timeout_s=60, interval_s=0.5, message=f"a payment applied to {account_ref}")


def personal_data_url(slug: str, person: Person) -> str:
    return f"/v1/clients/{slug}/debtors/{person.id_number}/personal-data"


async def erase(platform: RunningPlatform, operator: httpx.AsyncClient, slug: str, person: Person) -> dict[str, Any]:
    """Asks for the person's erasure and waits until it is completed (a failure shows the platform's log)."""
    asked = await operator.post(f"/v1/clients/{slug}/debtors/{person.id_number}/erasure",
                                json={"reason": "solicitud del titular (supresión)"})
    assert asked.status_code == 202, asked.text
    assert set(asked.json()) >= {"id", "status"}, asked.json()
    try:
        return dict(await answered(operator, f"/v1/clients/{slug}/erasures/{asked.json()['id']}",
                                   lambda b: b["status"] == "completed", "the erasure completed", timeout_s=120))
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nthe platform's log ends:\n{platform.process.log_tail(60)}") from None


async def database_dump(platform: RunningPlatform) -> dict[str, str]:
    """Every schema's data, table by table: pg_dump of the whole database with the embedded server's own binaries
    (they match the server's version), or, where they are not installed, every row of every table of every
    schema that is not PostgreSQL's own as JSON."""
    from recaudo_common.embedded_pg import EmbeddedPostgresMissing, binary

    dsn = asyncpg_dsn(platform.settings.database_url)
    try:
        pg_dump = binary("pg_dump")
    except EmbeddedPostgresMissing:
        return await rows_as_json(dsn)
    dumped = await asyncio.to_thread(subprocess.run, [pg_dump, "--data-only", "--no-owner", dsn],
                                     capture_output=True, text=True, timeout=120)
    assert dumped.returncode == 0, dumped.stderr
    tables: dict[str, str] = {}
    current = "(outside a table)"
    for line in dumped.stdout.splitlines():
        if line.startswith("COPY "):
            current = line.split(" ", 2)[1]
        tables[current] = tables.get(current, "") + line + "\n"
    return tables


async def rows_as_json(dsn: str) -> dict[str, str]:
    connection = await asyncpg.connect(dsn)
    try:
        names = await connection.fetch(
            """SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'
               AND table_schema NOT IN ('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'pg_toast%'""")
        return {f"{n['table_schema']}.{n['table_name']}": "\n".join(
            r[0] for r in await connection.fetch(
                f'SELECT row_to_json(t)::text FROM "{n["table_schema"]}"."{n["table_name"]}" t'))
            for n in names}
    finally:
        await connection.close()
