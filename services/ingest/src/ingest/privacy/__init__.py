"""Ingest's duties to the people in its files (#19): a pseudonym for every account, erasure of every plaintext copy
on request, retention of rejected rows' raw cells and of stored upload files."""
