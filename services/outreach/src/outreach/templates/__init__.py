"""Templates: a client company's own messages, checked before they are saved."""
