"""How the Kafka clients reach a secured cluster: TLS against the brokers' CA and SASL (SCRAM) credentials, as
the arguments every aiokafka producer, consumer and admin client of the platform is given."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import TypedDict

from aiokafka.helpers import create_ssl_context

from recaudo_common.settings import PlatformSettings


class ClientSecurity(TypedDict, total=False):
    """aiokafka's keyword arguments for the connection's security; empty for a plaintext broker."""

    security_protocol: str
    ssl_context: ssl.SSLContext
    sasl_mechanism: str
    sasl_plain_username: str
    sasl_plain_password: str


@dataclass(frozen=True)
class KafkaSecurity:
    """PLAINTEXT (the default: the local broker and the tests), SSL, SASL_PLAINTEXT or SASL_SSL (Strimzi's
    listener with SCRAM-SHA-512 users, on Kubernetes)."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-512"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: str | None = None  # the brokers' CA in PEM; the system's trusted CAs when None

    @classmethod
    def of(cls, settings: PlatformSettings) -> KafkaSecurity:
        return cls(protocol=settings.kafka_security_protocol, sasl_mechanism=settings.kafka_sasl_mechanism,
                   username=settings.kafka_sasl_username, password=settings.kafka_sasl_password,
                   cafile=settings.kafka_ssl_cafile)

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    def client_args(self) -> ClientSecurity:
        """The arguments for aiokafka. With TLS, the context verifies the broker's certificate and host name
        against the CA (a missing or unreadable CA file fails here, before any connection)."""
        if self.protocol == "PLAINTEXT":
            return {}  # aiokafka's own default: the clients are built exactly as without these settings
        args: ClientSecurity = {"security_protocol": self.protocol}
        if self.tls:
            args["ssl_context"] = create_ssl_context(cafile=self.cafile)
        if self.protocol.startswith("SASL_"):
            args["sasl_mechanism"] = self.sasl_mechanism
            args["sasl_plain_username"] = self.username or ""
            args["sasl_plain_password"] = self.password or ""
        return args
