"""The console's client company settings page (#23)."""
