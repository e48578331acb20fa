"""The one Spanish word for each name the platform itself gives: the contact channels, the strategy's arms and the
groups of an account or payment without one; read by the exports, the dashboard and the consoles alike."""

from __future__ import annotations

# The words a Latin American collections agency's staff use: "asesor" for the agency's person (the debtor page and
# the phone menu say so too), "llamada automática" for the voice channel (an automated call: "voz" alone reads as
# an asesor's call in a call centre), "campeón" / "retador" for the strategy's arms (as the strategy console says).
CHANNEL_WORDS = {"sms": "SMS", "email": "correo", "whatsapp": "WhatsApp", "voice": "llamada automática",
                 "agent": "asesor", "letter": "carta"}
ARM_WORDS = {"champion": "campeón", "challenger": "retador"}
GROUP_WORDS = {"unassigned": "sin asignar", "none": "sin contacto", "total": "total", **CHANNEL_WORDS, **ARM_WORDS}
# The account page's contact form lists the channels in this order (the agency's own first), capitalised.
CONTACT_CHANNELS = ("agent", "voice", "sms", "whatsapp", "email", "letter")


def channel_options() -> list[tuple[str, str]]:
    """The contact form's channel choices: (value, the word with its first letter capitalised)."""
    return [(c, CHANNEL_WORDS[c][:1].upper() + CHANNEL_WORDS[c][1:]) for c in CONTACT_CHANNELS]
