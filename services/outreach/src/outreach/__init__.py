"""Outreach: channels, providers, the compliance engine, the contact schedule and its audit trail."""
