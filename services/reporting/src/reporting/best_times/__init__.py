"""The best times to contact that outreach learns, kept for the account view (contact.best_times_learned)."""
