"""Placed accounts: their recall at the client company's request, and their record as placed."""
