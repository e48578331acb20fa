"""WhatsApp Business Cloud API (Meta), per client company: its configuration (secrets sealed at rest), the
webhook's verification handshake, and the signed notifications: statuses applied to the attempts, debtors'
messages and button presses answered (opt-out, payment link, dispute hold, agent desk)."""
