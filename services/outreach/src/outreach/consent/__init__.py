"""Consent and holds: the compliance check, opt-outs, do-not-contact, legal holds, stricter rules."""
