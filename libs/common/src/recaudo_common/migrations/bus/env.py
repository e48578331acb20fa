"""Alembic environment of the bus schema."""

from recaudo_common.migrate import run_env

run_env()
