"""Client companies: their registration, their upload cap and their saved mapping profiles."""
