"""Alembic environment of the payments schema."""

from recaudo_common.migrate import run_env

run_env()
