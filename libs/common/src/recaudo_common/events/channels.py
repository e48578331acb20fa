"""The contact channels an event may name (client settings, accounts, contacts)."""

from __future__ import annotations

from typing import Literal

Channel = Literal["sms", "email", "whatsapp", "voice", "agent", "letter"]
CHANNELS: tuple[str, ...] = ("sms", "email", "whatsapp", "voice", "agent", "letter")
