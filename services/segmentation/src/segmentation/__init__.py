"""Segmentation: buckets of mora, propensity, cost to collect, treatment, and why."""
