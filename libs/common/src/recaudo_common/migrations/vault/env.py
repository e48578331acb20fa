"""Alembic environment of the vault schema (personal data keys, blind indexes, the register of erasures)."""

from recaudo_common.migrate import run_env

run_env()
