"""A domain metric counts what happened: `after_commit` runs once its transaction commits, never when it rolls back
(a consumer's retried transaction, a refused command), on real PostgreSQL."""

import pytest
from sqlalchemy import text

from recaudo_common.db import Database, after_commit, make_engine

pytestmark = pytest.mark.integration


async def test_an_action_runs_after_the_commit_and_never_after_a_rollback(database_url: str) -> None:
    db = Database(make_engine(database_url, pool_size=1))
    counted: list[str] = []
    try:
        async with db.transaction() as s:
            await s.execute(text("SELECT 1"))
            after_commit(s, lambda: counted.append("committed"))
            after_commit(s, lambda: counted.append("and the next, in order"))
            assert counted == []  # not before the commit
        with pytest.raises(RuntimeError):
            async with db.transaction() as s:
                after_commit(s, lambda: counted.append("rolled back"))
                raise RuntimeError("the handler failed: its transaction is retried")
        with pytest.raises(Exception, match="division by zero"):
            async with db.transaction() as s:
                after_commit(s, lambda: counted.append("refused by the database"))
                await s.execute(text("SELECT 1 / 0"))
    finally:
        await db.dispose()
    assert counted == ["committed", "and the next, in order"]
