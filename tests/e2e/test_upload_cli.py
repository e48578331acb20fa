"""`recaudo upload` against the running platform: the file goes up, progress is followed, counts come back."""

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from recaudo_common.testing import RunningPlatform

pytestmark = pytest.mark.e2e


async def test_upload_command_reports_counts_and_where_the_rejections_are(running_platform: RunningPlatform,
                                                                         tmp_path: Path) -> None:
    async with running_platform.client() as operator:
        await operator.post("/v1/clients", json={"slug": "coop-sur", "name": "Cooperativa del Sur", "country": "PE",
                                                 "currency": "PEN", "timezone": "America/Lima", "locale": "es-PE"})
        key = (await operator.post("/v1/keys", json={"role": "client", "client": "coop-sur"})).json()["key"]
    rows = ["Cuenta,DNI,Nombre,Saldo,Dias Mora"] + [f"P-{i},4{i:07d},Cliente {i},\"1,{i:03d}.50\",{i % 200}"
                                                    for i in range(1, 301)] + ["P-7,1,x,10,1", "P-999,,x,10,1"]
    path = tmp_path / "cartera-peru.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "recaudo.cli", "upload", str(path), "--client", "coop-sur",
                         "--url", running_platform.base_url, "--key", key, "--as-of", "2026-03-31"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "completed" in result.stdout
    assert "rows 302: accepted 300, rejected 2" in result.stdout
    assert "duplicate_account_ref: 1" in result.stdout and "missing_debtor_id: 1" in result.stdout
    assert "/rejections?format=csv" in result.stdout
    assert "100.0%" in result.stderr  # the progress bar reached the end
