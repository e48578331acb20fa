"""Pure rules of ingest: client companies, header mapping, parsing by locale, row validation."""
