"""A person's erasure (#19): every plaintext copy of their data in payments' tables erased, and confirmed."""
