"""The reports' exports for a Spanish-speaking client company say every group in Spanish (the JSON API keeps its
English keys), and a bucket such as 1-30 is a text cell in XLSX, never a date, and written as it is in CSV.
Through reporting's real consumer runtime, PostgreSQL and API (the es-CO story of test_report_boundaries)."""

import io
import re
import zipfile
from typing import Any

import httpx
import pytest
from python_calamine import CalamineWorkbook

from . import test_report_boundaries as boundaries
from .test_report_boundaries import NOVEMBER

pytestmark = pytest.mark.integration


# The November story of test_report_boundaries, served as its report API serves it.
reports = boundaries.reports


async def export(http: httpx.AsyncClient, path: str, fmt: str, **params: str) -> httpx.Response:
    response = await http.get(f"/v1/clients/banco/reports/{path}", params={**NOVEMBER, **params, "format": fmt})
    assert response.status_code == 200, response.text
    return response


def first_cells(csv_body: str) -> list[str]:
    return [line.split(";")[0] for line in csv_body.removeprefix("\ufeff").splitlines()]


@pytest.mark.parametrize(("group_by", "english", "spanish"), [
    ("channel", {"none", "sms", "agent"}, {"sin contacto", "SMS", "asesor"}),
    ("product", {"unassigned"}, {"sin asignar"}),
    ("segment", {"unassigned", "1-30/high", "31-60/high"}, {"sin asignar", "1-30/alto", "31-60/alto"}),
    ("strategy_arm", {"unassigned", "champion"}, {"sin asignar", "campeón"}),
])
async def test_every_group_of_a_spanish_export_is_in_spanish(reports: httpx.AsyncClient, group_by: str,
                                                             english: set[str], spanish: set[str]) -> None:
    body: dict[str, Any] = (await reports.get("/v1/clients/banco/reports/recovery",
                                              params={**NOVEMBER, "group_by": group_by})).json()
    assert english <= {g["key"] for g in body["groups"]}  # the API's keys stay English
    csv_keys = set(first_cells((await export(reports, "recovery", "csv", group_by=group_by)).text))
    rows = CalamineWorkbook.from_filelike(io.BytesIO(
        (await export(reports, "recovery", "xlsx", group_by=group_by)).content)).get_sheet_by_index(0).to_python()
    xlsx_keys = {r[0] for r in rows}
    for keys in (csv_keys, xlsx_keys):
        assert spanish <= keys, keys
        assert not english & keys, keys


async def test_a_bucket_is_a_text_cell_in_xlsx_and_written_as_it_is_in_csv(reports: httpx.AsyncClient) -> None:
    csv_keys = first_cells((await export(reports, "recovery", "csv", group_by="bucket")).text)
    # In CSV the bucket is what the API calls it, for every reader (a ="1-30" would reach pandas or R as six
    # characters and start like a formula); Excel users take the XLSX export, where it is a text cell.
    assert csv_keys == ["grupo", "1-30", "31-60", "sin asignar", "total"]
    statement = first_cells((await export(reports, "commission", "csv")).text)
    assert statement == ["tramo", "1-30", "31-60", "sin asignar", "total"]
    for path, params in (("recovery", {"group_by": "bucket"}), ("commission", {})):
        book = (await export(reports, path, "xlsx", **params)).content
        rows = CalamineWorkbook.from_filelike(io.BytesIO(book)).get_sheet_by_index(0).to_python()
        assert [r[0] for r in rows] == [rows[0][0], "1-30", "31-60", "sin asignar", "total"]
        # A text cell (a shared string, t="s"), never a number Excel could show as a date.
        sheet = zipfile.ZipFile(io.BytesIO(book)).read("xl/worksheets/sheet1.xml").decode()
        assert re.search(r'<c r="A2"[^>]* t="s"', sheet), sheet[:400]
