"""Ingest consumes no topics: it is where portfolios enter the platform."""
