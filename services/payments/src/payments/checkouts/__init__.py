"""Debtors' checkouts (#21): the debtor page's ticket becomes one checkout at the client company's gateway, under a
payment reference the platform issues, and the gateway's notifications move it to approved, pending or declined."""
