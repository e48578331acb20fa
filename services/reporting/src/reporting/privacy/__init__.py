"""A person's data under the data-protection laws: access, erasure, retention (#19)."""
