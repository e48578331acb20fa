"""Benchmarks: each measures Recaudo beside a floor measured in the same run, and records machine facts."""
