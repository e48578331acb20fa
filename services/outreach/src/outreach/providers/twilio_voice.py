"""Voice through Twilio Programmable Voice: the call that reads the message in Spanish and offers the keypad
choices (1 pagar, 2 hablar con un asesor), the look-up of a call in doubt, and the TwiML answers to the choice.

Formats, as Twilio documents them:
- Create a call: https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource
  (POST /2010-04-01/Accounts/{AccountSid}/Calls.json, form fields To, From, Url or Twiml, StatusCallback,
  StatusCallbackEvent (repeated: initiated ringing answered completed), StatusCallbackMethod; 201 with the call
  as JSON, its sid CA...). The call's status callbacks carry CallSid and CallStatus (queued, initiated, ringing,
  in-progress, completed, busy, no-answer, failed, canceled): twilio.py reads them like message receipts.
- TwiML <Say>: https://www.twilio.com/docs/voice/twiml/say (language, voice: e.g. Polly.Mia speaks es-MX; loop).
- TwiML <Gather>: https://www.twilio.com/docs/voice/twiml/gather (input="dtmf", numDigits, action, method,
  timeout; Twilio posts the keys pressed as Digits to the action URL, signed like every webhook).
- TwiML <Dial>: https://www.twilio.com/docs/voice/twiml/dial (connects the debtor to the agents' line).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

import httpx

from outreach.providers.base import Lookup, OutboundMessage, Receipt, Sent

if TYPE_CHECKING:
    from outreach.providers.twilio import Twilio

MENU = "Marque 1 para pagar, 2 para hablar con un asesor."
NO_ANSWER = "No recibimos su respuesta. Gracias por su atención. Hasta luego."
# Twilio takes at most 4,000 characters of inline TwiML; a longer message is cut (at a word) to fit.
TWIML_LIMIT = 4000
# Statuses to be called back about: the answer proves the call reached someone; completed, busy, no-answer,
# failed and canceled all come as "completed" events.
STATUS_EVENTS = ["answered", "completed"]


def twiml(*verbs: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(verbs) + "</Response>"


class TwilioVoice:
    """Calls through Twilio's Calls API, their TwiML, and the answers to the debtor's keypad choice."""

    def __init__(self, twilio: Twilio) -> None:
        self.twilio = twilio
        settings = twilio.settings
        self.calls = f"{twilio.account}/Calls.json"
        self.gather_url = settings.public_url.rstrip("/") + "/v1/webhooks/outreach/twilio/voice/gather"
        self.sender = settings.twilio_voice_from or settings.twilio_sms_from
        self.language, self.voice = settings.twilio_voice_language, settings.twilio_voice_name

    def say(self, text: str) -> str:
        return f"<Say language={quoteattr(self.language)} voice={quoteattr(self.voice)}>{escape(text)}</Say>"

    def call_twiml(self, message: OutboundMessage) -> str:
        """What the call plays once answered: the message and the menu inside a one-key <Gather> whose action
        names the attempt; if no key is pressed, a goodbye."""
        action = f"{self.gather_url}?{urlencode({'attempt': str(message.attempt_id)})}"
        body = " ".join(message.body.split())

        def build(text: str) -> str:
            return twiml(f'<Gather input="dtmf" numDigits="1" timeout="8" action={quoteattr(action)} method="POST">'
                         f"{self.say(f'{text} {MENU}'.strip())}</Gather>", self.say(NO_ANSWER))

        document = build(body)
        while len(document) > TWIML_LIMIT and body:
            body = body[:max(0, len(body) - (len(document) - TWIML_LIMIT) - 1)].rsplit(" ", 1)[0]
            document = build(body + "…" if body else "")
        return document

    async def call(self, message: OutboundMessage) -> Sent:
        form: dict[str, str | list[str]] = {
            "To": message.recipient, "From": self.sender, "Twiml": self.call_twiml(message),
            "StatusCallback": self.twilio.callback_for(message.attempt_id), "StatusCallbackEvent": STATUS_EVENTS,
            "StatusCallbackMethod": "POST"}
        return Sent(self.twilio.created(await self.twilio.post(self.calls, form)))

    async def look_up(self, message: OutboundMessage, since: dt.datetime) -> Lookup:
        """Lists the calls to the number from our caller id (GET .../Calls.json?To=&From=, newest first) and takes
        the one created at or after `since`: a call carries no text to tell two apart, and an attempt is the only
        call to its number on its claim."""
        from outreach.providers.twilio import CALL_STATUS, LOOKUP_SLACK, _created

        try:
            answer = await self.twilio.http.get(self.calls, params={"To": message.recipient, "From": self.sender,
                                                                    "PageSize": "20"}, auth=self.twilio.auth)
        except httpx.HTTPError as e:
            return Lookup(None, reason=f"look-up failed: {type(e).__name__}", retry=True)
        if answer.status_code == 429 or answer.status_code >= 500:
            return Lookup(None, reason=f"look-up answered {answer.status_code}", retry=True)
        if answer.status_code >= 400:
            return Lookup(None, reason=f"look-up refused ({answer.status_code})")
        for c in answer.json().get("calls") or []:
            if _created(c) >= since - LOOKUP_SLACK:
                sid, raw = str(c["sid"]), str(c.get("status") or "")
                status = CALL_STATUS.get(raw, "sent")
                return Lookup(True, sid, (Receipt(sid, status, raw if status == "failed" else None),)
                              if status != "sent" else ())
        return Lookup(False)

    # The answers to the keypad choice (the <Gather> action's response).
    def link_sent(self) -> str:
        return twiml(self.say("Le enviamos ahora un mensaje de texto con el enlace para pagar. Gracias."))

    def link_not_sent(self) -> str:
        return twiml(self.say("Puede pagar desde el enlace de nuestros mensajes o comunicarse con nosotros. "
                              "Gracias."))

    def to_agent(self, number: str | None) -> str:
        if number:
            return twiml(self.say("Le comunicamos con un asesor. Por favor espere."), f"<Dial>{escape(number)}</Dial>")
        return twiml(self.say("Un asesor le llamará pronto. Gracias."))

    def repeat(self, message_attempt: str) -> str:
        """An unknown key: the menu again, once more."""
        action = f"{self.gather_url}?{urlencode({'attempt': message_attempt})}"
        return twiml(f'<Gather input="dtmf" numDigits="1" timeout="8" action={quoteattr(action)} method="POST">'
                     f"{self.say('Opción no válida. ' + MENU)}</Gather>", self.say(NO_ANSWER))

    def goodbye(self) -> str:
        return twiml(self.say("Gracias. Hasta luego."))

    async def text(self, to: str, body: str) -> str:
        """An SMS the debtor asked for during the call (the payment link): Messages.json, from our SMS sender."""
        form: dict[str, str | list[str]] = {"To": to, "From": self.twilio.settings.twilio_sms_from, "Body": body}
        return self.twilio.created(await self.twilio.post(self.twilio.messages, form))
