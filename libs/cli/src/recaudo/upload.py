"""`recaudo upload`: send a portfolio file and follow its server-side progress to the end."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import httpx


def _bar(fraction: float, width: int = 30) -> str:
    filled = int(fraction * width)
    return "[" + "#" * filled + "." * (width - filled) + f"] {fraction:6.1%}"


async def upload(*, base_url: str, key: str, path: Path, client: str, mapping_profile: str | None,
                 as_of: str | None, sheet: str | None, poll_s: float = 0.5) -> int:
    """Uploads, prints a progress bar on stderr, then the counts; returns a shell exit code."""
    data = {k: v for k, v in {"mapping_profile": mapping_profile, "as_of": as_of, "sheet": sheet}.items() if v}
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=httpx.Timeout(600, connect=10)) as http:
        with path.open("rb") as handle:
            response = await http.post(f"/v1/clients/{client}/portfolios", files={"file": (path.name, handle)},
                                       data=data)
        if response.status_code not in (200, 202):
            print(f"upload refused: {response.status_code} {response.text}", file=sys.stderr)
            return 1
        portfolio: dict[str, Any] = response.json()
        if response.status_code == 200:
            print("the same file with the same parameters was already uploaded: showing that upload",
                  file=sys.stderr)
        while portfolio["status"] in ("queued", "processing"):
            print(f"\r{_bar(portfolio['progress'])} {portfolio['rows_total']:>10,} rows", end="", file=sys.stderr)
            await asyncio.sleep(poll_s)
            portfolio = (await http.get(f"/v1/portfolios/{portfolio['id']}")).json()
        print(f"\r{_bar(1.0 if portfolio['status'] == 'completed' else portfolio['progress'])}", file=sys.stderr)
    print(f"upload {portfolio['id']}: {portfolio['status']}")
    if portfolio["status"] == "failed":
        print(f"  {portfolio['error_code']}: {portfolio['error_detail']}")
        return 2
    print(f"  rows {portfolio['rows_total']:,}: accepted {portfolio['rows_accepted']:,}, rejected "
          f"{portfolio['rows_rejected']:,}, with warnings {portfolio['rows_with_warnings']:,}")
    for code, count in sorted(portfolio["counts_by_code"].items()):
        print(f"  {code}: {count:,}")
    if portfolio["rows_rejected"]:
        print(f"  rejections: {base_url}/v1/portfolios/{portfolio['id']}/rejections?format=csv")
    return 0
