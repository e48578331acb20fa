"""Alembic environment of the segmentation schema."""

from recaudo_common.migrate import run_env

run_env()
