"""Retention erases closed people's data on schedule and keeps the active (#19), and the reports rebuilt from the
event log after an erasure give the same totals, on pseudonymous ids: through the public API on the embedded
default, each platform logging at DEBUG so its own log is searched too."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from recaudo_common.testing import RunningPlatform, platform_env, platform_process, settings_for_test

from .personal_data_people import (
    ERASED,
    HEADER,
    KEPT,
    OPERATOR_KEY,
    Person,
    answered,
    cash_payment,
    database_dump,
    erase,
    leaks,
    personal_data_url,
    place,
    recall,
    settled_totals,
    totals,
)

pytestmark = pytest.mark.e2e

RETENTION_SLUG = "banco-azteca-retencion"
RECALLED = Person("R-001", "MOVA620915HDFRRL02", "Anacleto Mondragón Valdivieso", "800 918 3276", "33 3164 9827",
                  "anacleto.mondragon@correo-ejemplo.mx", "Privada Xochimilco 7314", "640000.00", 30)
PAID_OFF = Person("R-002", "BECR881122MJCRRS05", "Clotilde Berrocal Roldán", "800 642 9183", "33 3847 2619",
                  "clotilde.berrocal@correo-ejemplo.mx", "Callejón Analco 2958", "90000.00", 20)
ACTIVE = Person("R-003", "SOPE910303HNLTRN08", "Ezequiel Sotomayor Pedraza", "800 284 6731", "33 3619 4827",
                "ezequiel.sotomayor@correo-ejemplo.mx", "Boulevard Tlalpan 6182", "410000.00", 60)
RECALLED_LATER = Person("R-004", "GUAI700707MOCTRM03", "Leocadia Guardiola Ibarrondo", "800 371 9826",
                        "33 3482 9163", "leocadia.guardiola@correo-ejemplo.mx", "Cerrada Coyoacán 5307", "275000.00", 90)


@pytest.fixture
async def embedded_platform(database_url: str, tmp_path: Path) -> AsyncIterator[RunningPlatform]:
    """The platform on its embedded transport (the event log is a table), logging at DEBUG."""
    async with platform_process(settings_for_test(database_url), tmp_path, OPERATOR_KEY,
                                RECAUDO_LOG_LEVEL="DEBUG") as platform:
        yield platform


@pytest.fixture
async def sweeping_platform(database_url: str, tmp_path: Path) -> AsyncIterator[RunningPlatform]:
    """The platform on its embedded transport with the daily retention job running every second instead, so a
    test sees it act on schedule without waiting a day."""
    async with platform_process(settings_for_test(database_url), tmp_path, OPERATOR_KEY, RECAUDO_LOG_LEVEL="DEBUG",
                                RECAUDO_REPORTING_RETENTION_SWEEP_S="1") as platform:
        yield platform


async def test_retention_erases_the_closed_on_schedule_and_keeps_the_active(
        sweeping_platform: RunningPlatform) -> None:
    platform = sweeping_platform
    slug = RETENTION_SLUG
    async with platform.client() as operator:
        people = (RECALLED, PAID_OFF, ACTIVE, RECALLED_LATER)
        await place(operator, slug, HEADER + "".join(p.row() for p in people), accepted=4, rejected=0)
        await recall(operator, slug, RECALLED.account_ref)
        await cash_payment(operator, slug, PAID_OFF.account_ref, PAID_OFF.balance)
        await answered(operator, f"/v1/clients/{slug}/accounts/{PAID_OFF.account_ref}", lambda b: b["status"] == "paid",
                       "paid off in reporting")
        for person in people:
            assert (await operator.get(personal_data_url(slug, person))).status_code == 200
        before = await settled_totals(operator, slug)

        kept = await operator.put(f"/v1/clients/{slug}/retention", json={"days_after_closure": 0})
        assert kept.status_code == 200, kept.text
        assert (await operator.get(f"/v1/clients/{slug}/retention")).json()["days_after_closure"] == 0

        def erased_by_retention(*refs: str) -> Any:
            """Whether exactly these accounts' people were erased by retention, and completed."""
            def check(body: dict[str, Any]) -> bool:
                return sorted(ref for e in body["items"] if e["reason"] == "retention" and e["status"] == "completed"
                              for ref in e["account_refs"]) == sorted(refs)
            return check

        erasures = await answered(operator, f"/v1/clients/{slug}/erasures",
                                  erased_by_retention(RECALLED.account_ref, PAID_OFF.account_ref),
                                  "the recalled and the paid-off person erased by retention", timeout_s=120)
        assert sorted(ref for e in erasures["items"] for ref in e["account_refs"]) == [
            RECALLED.account_ref, PAID_OFF.account_ref]
        for person in (RECALLED, PAID_OFF):
            assert (await operator.get(personal_data_url(slug, person))).status_code == 404
        # The pass that erased them found the active people not due; the report's figures did not move.
        for person in (ACTIVE, RECALLED_LATER):
            held = await operator.get(personal_data_url(slug, person))
            assert held.status_code == 200 and person.full_name in held.text, held.text
        assert await totals(operator, slug) == before

        # The job keeps running on its schedule: a person recalled later is erased by a later pass, and the
        # people erased before are not asked again (one erasure each).
        await recall(operator, slug, RECALLED_LATER.account_ref)
        erasures = await answered(operator, f"/v1/clients/{slug}/erasures",
                                  erased_by_retention(RECALLED.account_ref, PAID_OFF.account_ref,
                                                      RECALLED_LATER.account_ref),
                                  "the person recalled later erased by retention", timeout_s=120)
        assert sorted(ref for e in erasures["items"] for ref in e["account_refs"]) == [
            RECALLED.account_ref, PAID_OFF.account_ref, RECALLED_LATER.account_ref]
        assert (await operator.get(personal_data_url(slug, RECALLED_LATER))).status_code == 404
        active = await operator.get(personal_data_url(slug, ACTIVE))
        assert active.status_code == 200 and ACTIVE.full_name in active.text, active.text

    tables = await database_dump(platform)
    haystacks = {f"table {n}": t for n, t in tables.items()}
    haystacks["the platform's log"] = platform.process.log_path.read_text(errors="replace")
    found = [f for p in (RECALLED, PAID_OFF, RECALLED_LATER) for f in leaks(p, haystacks)]
    assert not found, "a person erased by retention survives:\n" + "\n".join(sorted(set(found)))


async def rebuild(platform: RunningPlatform) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "recaudo.cli", "reporting", "rebuild"],
        env=platform_env(platform.settings), capture_output=True, text=True, timeout=300)


async def test_a_rebuild_after_an_erasure_gives_the_same_totals(embedded_platform: RunningPlatform) -> None:
    """The reports rebuilt from the event log after an erasure: the same totals, on pseudonymous ids."""
    platform = embedded_platform
    slug = "banco-azteca-reconstruye"
    async with platform.client() as operator:
        await place(operator, slug, HEADER + ERASED.row() + KEPT.row(), accepted=2, rejected=0)
        for person, amount in ((ERASED, "400000.00"), (KEPT, "75000.00")):
            await cash_payment(operator, slug, person.account_ref, amount)
        await recall(operator, slug, ERASED.account_ref)
        before = await settled_totals(operator, slug)
        assert Decimal(before["totals"]["recovered"]) == Decimal("475000.00")
        await erase(platform, operator, slug, ERASED)

        rebuilt = await rebuild(platform)
        assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
        assert "every report figure of the rebuilt tables equals the live one" in rebuilt.stdout
        assert await totals(operator, slug) == before
        assert not leaks(ERASED, {"the rebuild's output": rebuilt.stdout + rebuilt.stderr})
        assert (await operator.get(personal_data_url(slug, ERASED))).status_code == 404
        kept = await operator.get(personal_data_url(slug, KEPT))
        assert kept.status_code == 200 and KEPT.full_name in kept.text, kept.text

    # The replayed tables (schema reporting_rebuild) opened nothing of the erased person either.
    tables = await database_dump(platform)
    assert any(name.startswith("reporting_rebuild.") for name in tables), sorted(tables)
    found = leaks(ERASED, {f"table {n}": t for n, t in tables.items()})
    assert not found, "the erased person's data is back after the rebuild:\n" + "\n".join(sorted(set(found)))
