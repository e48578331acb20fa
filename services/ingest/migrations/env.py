"""Alembic environment of the ingest schema."""

from recaudo_common.migrate import run_env

run_env()
