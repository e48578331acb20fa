"""Rectification: an operator corrects a debtor's contact points at their request, with who and why recorded."""
