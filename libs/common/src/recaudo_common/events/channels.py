"""The contact channels an event may name (client settings, accounts, contacts)."""

from __future__ import annotations

from typing import Literal

Channel = Literal["sms", "email", "whatsapp", "voice", "agent", "letter"]
CHANNELS: tuple[str, ...] = ("sms", "email", "whatsapp", "voice", "agent", "letter")

# The channels a client company's cost table prices, one contact each (a letter is not priced there).
CostedChannel = Literal["sms", "whatsapp", "email", "voice", "agent"]
COSTED_CHANNELS: tuple[str, ...] = ("sms", "whatsapp", "email", "voice", "agent")
