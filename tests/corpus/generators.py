"""The bad-input corpus's generators: the big and binary inputs its cases name (a zip bomb, a truncated XLSX, a
header of a million columns, a signed debtor-page link...), made at test time so the repository holds none of them.
A case names a file generator in its request's file spec and a value generator as a list [name, *arguments]."""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import random
import zipfile
from collections.abc import Callable
from typing import Any

import xlsxwriter

from outreach.domain.offers import proof
from recaudo_common.hostile_files import HOSTILE_FILES
from recaudo_common.payment_links import make_token
from recaudo_common.settings import DEV_SECRET

GOOD_CSV = ("Número Obligación;Cédula;Nombre Completo;Celular;Saldo Total;Días Mora\n" + "".join(
    f"A-{i:03d};10203040{i:02d};Cliente {i};300 123 45{i:02d};{(i + 1) * 100000};{15 * i}\n" for i in range(1, 11)))


def junk(seed: int) -> bytes:
    rng = random.Random(seed)
    body = bytearray(rng.randbytes(rng.randint(2_000, 64_000)))
    body[rng.randrange(0, 512)] = 0  # binary for certain
    return bytes(body)


@functools.cache
def good_xlsx() -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Cartera")
    for r, line in enumerate(GOOD_CSV.splitlines()):
        for c, value in enumerate(line.split(";")):
            sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


def truncated_xlsx(fraction: float) -> bytes:
    whole = good_xlsx()
    return whole[: max(5, int(len(whole) * fraction))]


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("léame.txt", "esto no es un libro de Excel")
    return buffer.getvalue()


@functools.cache
def zip_bomb(megabytes: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            block = b"0" * 1024 * 1024
            for _ in range(megabytes):
                sheet.write(block)
    return buffer.getvalue()


def wide_header(columns: int) -> bytes:
    return (",".join(f"c{i}" for i in range(columns)) + "\n" + ",".join("1" for _ in range(3)) + "\n").encode()


def wide_jsonl(keys: int) -> bytes:
    return (json.dumps({f"k{i}": i for i in range(keys)}) + "\n").encode()


def long_header_cell(megabytes: int, quoted: bool) -> bytes:
    cell = "x" * (megabytes * 1024 * 1024)
    if quoted:
        cell = '"' + cell + '"'
    return f"Cuenta;{cell};Saldo\nA-1;x;100\n".encode()


def long_json_key(megabytes: int) -> bytes:
    return (json.dumps({"x" * (megabytes * 1024 * 1024): 1, "account_ref": "A"}) + "\n").encode()


def long_form_field(megabytes: int) -> bytes:
    """A portfolio form whose `mapping` field is larger than a field may be (64 KiB)."""
    return (b'--B\r\nContent-Disposition: form-data; name="mapping"\r\n\r\n' + b"x" * (megabytes * 1024 * 1024)
            + b'\r\n--B\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nA;1\r\n--B--\r\n')


def latin1_as_utf8() -> bytes:
    return "Número Obligación;Cédula;Nombre;Saldo;Mora\nA-1;1;Ana;100;5\n".encode("latin-1")


def encoded_portfolio(encoding: str) -> bytes:
    return GOOD_CSV.encode(encoding)


def good_csv() -> bytes:
    return GOOD_CSV.encode()


def many_recalls(accounts: int, blank_every: int = 0) -> bytes:
    """A recall file naming this many accounts (with a blank cell every `blank_every` lines: none when 0)."""
    lines = (f"R-{i}\n" + (";\n" if blank_every and i % blank_every == 0 else "") for i in range(accounts))
    return ("Número Obligación\n" + "".join(lines)).encode()


def deep_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def big_json(megabytes: int, chunked: bool) -> tuple[bytes, bool]:
    return json.dumps({"slug": "x" * (megabytes * 1024 * 1024)}).encode(), chunked


FILE_GENERATORS: dict[str, Callable[..., Any]] = {
    f.__name__: f for f in (junk, truncated_xlsx, plain_zip, zip_bomb, wide_header, wide_jsonl, long_header_cell,
                            long_json_key, latin1_as_utf8, encoded_portfolio, good_csv, deep_json, big_json, long_form_field,
                            many_recalls)}
FILE_GENERATORS.update(HOSTILE_FILES)  # the XLSX bombs and runaway lines of xlsx_bombs.yaml


def debtor_page(client: str, account_ref: str, expires_at: int, action: str) -> str:
    """A genuine link's page (signed with the development link secret the platform runs with), and a form of it."""
    token = make_token(client=client, account_ref=account_ref, secret=DEV_SECRET,
                       expires_at=dt.datetime.fromtimestamp(expires_at, dt.UTC))
    return f"/pay/{token}/{action}"


def page_proof(client: str, account_ref: str, expires_at: int, minutes: int) -> str:
    """The page's proof that its identity question was answered, for that link, valid `minutes` from now."""
    token = debtor_page(client, account_ref, expires_at, "").split("/")[2]
    return proof(token, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes), DEV_SECRET)


VALUE_GENERATORS: dict[str, Callable[..., str]] = {
    "repeat": lambda s, n: s * n, "repeat_prefixed": lambda prefix, s, n: prefix + s * n,
    "between": lambda prefix, s, n, suffix: prefix + s * n + suffix,
    "debtor_page": debtor_page, "page_proof": page_proof}  # the debtor page's cases in personal_data.yaml
