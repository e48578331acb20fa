"""Each gateway's documented notification format and signature scheme as pure functions: bytes and secrets in,
a verified, typed value or a typed refusal out; no I/O, no clock (the time is passed in)."""
