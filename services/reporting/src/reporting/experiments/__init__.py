"""Experiments read out from the account view: the strategy's champion against its challenger."""
