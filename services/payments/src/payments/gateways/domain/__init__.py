"""Each gateway's documented notification format and signature scheme, as pure functions (no I/O, no clock)."""
