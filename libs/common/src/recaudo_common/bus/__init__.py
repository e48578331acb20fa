"""The event bus: one at-least-once contract, two transports (Kafka, and PostgreSQL as the embedded default)."""

from recaudo_common.bus.base import Message, OutgoingMessage, Subscriber, Transport

__all__ = ["Message", "OutgoingMessage", "Subscriber", "Transport"]
