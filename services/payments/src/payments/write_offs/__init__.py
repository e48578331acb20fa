"""Writing accounts off (#22): an operator's write-off with a reason, booked in the ledger and told by its event."""
