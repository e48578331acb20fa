"""Alembic environment of the reporting schema."""

from recaudo_common.migrate import run_env

run_env()
