"""Best time to contact: learned windows per client company, segment and channel, and the slot planning picks."""
