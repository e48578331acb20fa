"""Sending: due attempts claimed under the contact law with a fenced lease, handed to their providers, confirmed,
and reconciled with the provider when a replica died between the claim and the confirmation."""
