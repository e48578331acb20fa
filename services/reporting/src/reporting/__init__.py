"""Reporting: per-client read models built only from events, and the recovery reports."""
