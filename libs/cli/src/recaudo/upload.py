"""`recaudo upload`: send a portfolio file and follow its server-side progress to the end, with a progress bar
(rows per second, time left) on stderr and the counts on stdout."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.text import Text


class ApiRefused(Exception):
    """The API answered 4xx or 5xx: its code and what it said (a problem's detail or title)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail

    @classmethod
    def of(cls, response: httpx.Response) -> ApiRefused:
        try:
            body = response.json()
        except ValueError:
            return cls(response.status_code, response.text.strip() or response.reason_phrase)
        if isinstance(body, dict):
            said = body.get("detail") or body.get("title")
            if said:
                return cls(response.status_code, said if isinstance(said, str) else str(said))
        return cls(response.status_code, response.text.strip())


class RowsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "- rows/s", style="progress.data.speed")


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                    TextColumn("{task.completed:,.0f}/{task.total:,.0f} rows"), RowsPerSecond(),
                    TimeRemainingColumn(), console=console)


async def upload(*, base_url: str, key: str, path: Path, client: str, mapping_profile: str | None,
                 as_of: str | None, sheet: str | None, poll_s: float = 0.5) -> int:
    """Uploads, shows the progress on stderr, then the counts; returns a shell exit code. Raises ApiRefused on
    an answer that is not a success, httpx.ConnectError when nothing answers."""
    data = {k: v for k, v in {"mapping_profile": mapping_profile, "as_of": as_of, "sheet": sheet}.items() if v}
    errors = Console(stderr=True, highlight=False)
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=httpx.Timeout(600, connect=10)) as http:
        with path.open("rb") as handle:
            response = await http.post(f"/v1/clients/{client}/portfolios", files={"file": (path.name, handle)},
                                       data=data)
        if response.status_code not in (200, 202):
            raise ApiRefused.of(response)
        portfolio: dict[str, Any] = response.json()
        if response.status_code == 200:
            errors.print("the same file with the same parameters was already uploaded: showing that upload")
        with _progress(errors) as progress:
            task = progress.add_task(path.name, total=max(portfolio["rows_total"], 1))
            while portfolio["status"] in ("queued", "processing"):
                total = max(portfolio["rows_total"], 1)
                progress.update(task, total=total, completed=portfolio["progress"] * total)
                await asyncio.sleep(poll_s)
                answer = await http.get(f"/v1/portfolios/{portfolio['id']}")
                if answer.status_code != 200:
                    raise ApiRefused.of(answer)
                portfolio = answer.json()
            total = max(portfolio["rows_total"], 1)
            done = 1.0 if portfolio["status"] == "completed" else portfolio["progress"]
            progress.update(task, total=total, completed=done * total)
    elapsed = time.monotonic() - started
    errors.print(f"{done:6.1%} of {portfolio['rows_total']:,} rows in {elapsed:,.1f} s "
                 f"({portfolio['rows_total'] / elapsed if elapsed else 0:,.0f} rows/s)")
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
