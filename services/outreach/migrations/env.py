"""Alembic environment of the outreach schema."""

from recaudo_common.migrate import run_env

run_env()
