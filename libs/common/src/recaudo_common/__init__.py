"""Shared plumbing for every Recaudo service, written once."""
