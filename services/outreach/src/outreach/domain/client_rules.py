"""A client company's own contact rules, stricter than the law's (contact_law.stricter_rules checks and applies
them): the windows it allows each weekday, its limits, one channel a week. Stored as the JSON document below."""

from __future__ import annotations

import json
from dataclasses import dataclass

Span = tuple[str, str]  # ("HH:MM", "HH:MM")


@dataclass(frozen=True)
class RulesOverride:
    """What the client company set; a rule it left out (None) is the law's."""

    windows: dict[str, Span | None] | None = None  # weekday (mon..sun) -> window, or None for a closed day
    daily_limit: int | None = None
    calls_in_7_days: int | None = None
    one_channel_per_week: bool | None = None

    def document(self) -> dict[str, object]:
        """The rules set, as stored, answered and read by contact_law.stricter_rules (rules left out are absent)."""
        found = {"windows": self.windows, "daily_limit": self.daily_limit, "calls_in_7_days": self.calls_in_7_days,
                 "one_channel_per_week": self.one_channel_per_week}
        return {name: value for name, value in found.items() if value is not None}

    @classmethod
    def from_document(cls, document: object) -> RulesOverride | None:
        """From the stored document (JSON text or decoded), or None when the client company set no rules."""
        if isinstance(document, str | bytes):
            document = json.loads(document)
        if not isinstance(document, dict) or not document:
            return None
        windows = document.get("windows")
        return cls(
            windows={str(day): (str(span[0]), str(span[1])) if span else None for day, span in windows.items()}
            if isinstance(windows, dict) else None,
            daily_limit=document.get("daily_limit"), calls_in_7_days=document.get("calls_in_7_days"),
            one_channel_per_week=document.get("one_channel_per_week"))
