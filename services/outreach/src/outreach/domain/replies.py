"""What a debtor's reply means: STOP, BAJA or NO MAS (any case, accents and punctuation ignored) opts out."""

from __future__ import annotations

import unicodedata

OPT_OUT_WORDS = frozenset({"stop", "baja", "no mas", "nomas", "unsubscribe", "cancelar suscripcion"})


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    kept = "".join(c if c.isalnum() else " " for c in letters.casefold())
    return " ".join(kept.split())


def is_opt_out(reply: str) -> bool:
    """A reply that is only an opt-out word ("Baja", "NO MÁS!", " stop ") opts out; a sentence that merely
    contains one ("no más llamadas por favor") does too when it starts with it."""
    plain = _plain(reply)
    if plain in OPT_OUT_WORDS:
        return True
    return any(plain.startswith(word + " ") for word in OPT_OUT_WORDS)
