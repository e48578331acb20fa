"""One emission path: no service writes an outbox table itself; every event goes through recaudo_common.outbox
(Outbox.add, or HandlerContext.emit in a consumer), which gives it its correlation and causation ids and its trace
context and chooses COPY or INSERT for the batch. A hand-written write would lose all of that."""

import ast
import re
from pathlib import Path

import pytest

from recaudo_common.testing import REPOSITORY_ROOT

pytestmark = pytest.mark.unit

# SQL naming an outbox table (`payments.outbox`, f"{schema}.outbox", "outbox (family, ...") or the driver's COPY.
OUTBOX_SQL = re.compile(r"(\.\s*\"?outbox\b|\b(into|copy|update|from|table)\s+\"?outbox\b)", re.IGNORECASE)
# Building outbox rows by hand: the outbox's own row type and column helper, or a COPY straight on the driver.
ROW_BUILDERS = {"Staged", "family_of", "copy_records_to_table", "copy_to_table"}
FIX = ("emit through recaudo_common.outbox (Outbox.add, or ctx.emit in a consumer handler), which sets the "
       "correlation and causation ids and the trace headers and chooses COPY or INSERT")


def hand_written_outbox_writes(source: str) -> list[str]:
    """Where a module's code writes an outbox table or builds its rows itself, as `line: what`."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and OUTBOX_SQL.search(node.value):
            found.append(f"{node.lineno}: SQL on an outbox table: {node.value.strip()[:80]!r}")
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ROW_BUILDERS:
                found.append(f"{node.lineno}: builds outbox rows by hand ({name})")
        elif isinstance(node, ast.ImportFrom) and node.module == "recaudo_common.outbox":
            found.extend(f"{node.lineno}: imports the outbox's row builder {alias.name}"
                         for alias in node.names if alias.name in ROW_BUILDERS)
    return found


def service_modules() -> list[Path]:
    return sorted((REPOSITORY_ROOT / "services").glob("*/src/**/*.py"))


def test_the_scan_sees_services() -> None:
    assert len({p.relative_to(REPOSITORY_ROOT).parts[1] for p in service_modules()}) == 5


def test_no_service_writes_an_outbox_by_hand() -> None:
    offenders = {str(path.relative_to(REPOSITORY_ROOT)): found for path in service_modules()
                 if (found := hand_written_outbox_writes(path.read_text(encoding="utf-8")))}
    assert offenders == {}, f"an outbox written by hand loses the event's correlation; {FIX}: {offenders}"


@pytest.mark.parametrize("source", [
    'await s.execute(text("INSERT INTO payments.outbox (family, key, event_id, envelope) VALUES (:f, :k, :e, :v)"))',
    'await s.execute(text(f"INSERT INTO {SCHEMA}.outbox (family, key, event_id, envelope, headers) VALUES ..."))',
    'q = """insert into\n  outreach."outbox" (family, key) select * from unnest(:f, :k)"""',
    "await raw.copy_records_to_table('outbox', schema_name='ingest', records=rows)",
    "await outbox.write(s, [Staged(e, '{}') for e in envelopes])",
    "from recaudo_common.outbox import family_of\nrow = {'family': family_of(e.type)}",
    'await s.execute(text("DELETE FROM segmentation.outbox"))',
], ids=["insert", "f-string", "quoted-multiline", "copy", "staged", "family_of", "delete"])
def test_the_scan_catches_a_hand_written_outbox_write(source: str) -> None:
    assert hand_written_outbox_writes(source)


@pytest.mark.parametrize("source", [
    "await outbox.add(s, [event.envelope(client=client, occurred_at=now)])",
    "await ctx.emit(event)",
    "from recaudo_common.outbox import Outbox, outbox_inbox_ddl\noutbox = Outbox(store.SCHEMA)",
    '"""Contactable accounts and attempts; client copy, outbox, inbox."""',
    'log.info("the outbox relay is behind")',
], ids=["add", "emit", "imports", "docstring", "log"])
def test_the_scan_lets_the_common_outbox_through(source: str) -> None:
    assert hand_written_outbox_writes(source) == []
