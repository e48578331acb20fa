"""The agent desk: the next call, contacts agents log, payment links they hand out."""
