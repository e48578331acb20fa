"""Ingest: client companies, portfolio uploads, accounts as placed and as last stated, rejections."""
