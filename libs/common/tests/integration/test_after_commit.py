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


async def test_a_savepoint_released_runs_nothing_and_the_transaction_around_it_decides(database_url: str) -> None:
    """A savepoint (`begin_nested`: a write-off among many, a debtor's arrangement in a consumer's batch) is not
    the commit: SQLAlchemy tells its release to the same listener as a commit. Its actions, and those queued before
    it, wait for the transaction around it; a savepoint rolled back takes its own with it."""
    db = Database(make_engine(database_url, pool_size=1))
    counted: list[str] = []
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as s:
                after_commit(s, lambda: counted.append("before a savepoint, then rolled back"))
                async with s.begin_nested():
                    after_commit(s, lambda: counted.append("in a released savepoint, then rolled back"))
                assert counted == []  # the savepoint's release is no commit
                raise RuntimeError("the batch failed after its savepoint: the whole transaction is retried")
        async with db.transaction() as s:
            after_commit(s, lambda: counted.append("before"))
            async with s.begin_nested():
                after_commit(s, lambda: counted.append("in a released savepoint"))
            with pytest.raises(RuntimeError):
                async with s.begin_nested():
                    after_commit(s, lambda: counted.append("in a savepoint rolled back"))
                    async with s.begin_nested():
                        after_commit(s, lambda: counted.append("in a savepoint inside it"))
                    raise RuntimeError("refused: this account only")
            after_commit(s, lambda: counted.append("after"))
            assert counted == []
        assert counted == ["before", "in a released savepoint", "after"]
    finally:
        await db.dispose()


async def test_an_action_queued_before_any_transaction_belongs_to_the_next_one(database_url: str) -> None:
    db = Database(make_engine(database_url, pool_size=1))
    counted: list[str] = []
    try:
        async with db.sessions() as s:
            assert not s.in_transaction()
            after_commit(s, lambda: counted.append("rolled back"))
            async with s.begin():
                await s.execute(text("SELECT 1"))
                await s.rollback()
            after_commit(s, lambda: counted.append("committed"))
            async with s.begin():
                await s.execute(text("SELECT 1"))
        assert counted == ["committed"]
    finally:
        await db.dispose()
