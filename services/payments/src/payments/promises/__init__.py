"""Promises to pay and arrangements (settlements and instalment plans, each instalment a promise)."""
