"""An account's contact history and audit trail."""
