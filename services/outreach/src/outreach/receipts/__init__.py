"""Receipts and replies: providers' word on the messages sent, and the debtors' answers."""
