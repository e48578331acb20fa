"""The debtor page behind a payment link."""
