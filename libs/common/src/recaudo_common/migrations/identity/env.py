"""Alembic environment of the identity schema."""

from recaudo_common.migrate import run_env

run_env()
