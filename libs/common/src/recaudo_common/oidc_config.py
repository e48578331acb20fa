"""How an identity provider the agency or a client company uses is configured (RECAUDO_OIDC_PROVIDERS)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class OidcProvider(BaseModel):
    """One OpenID Connect provider: people sign in at it (authorization code with PKCE) and are matched to a user
    by their verified e-mail. `client` binds it to a client company: only that company's users sign in through it.
    Users are never created by a sign-in unless `create_users_as` names the role to create them with."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", description="in the sign-in URL: /console/oidc/{name}")
    label: str = Field(max_length=80, description="the sign-in button's text")
    issuer: str = Field(description="its issuer; its discovery document is {issuer}/.well-known/openid-configuration")
    client_id: str
    client_secret: str | None = None
    client: str | None = Field(None, description="the client company whose users sign in through it (none: the agency)")
    create_users_as: Literal["operator", "supervisor", "agent", "client", "sre"] | None = None
    scopes: tuple[str, ...] = ("openid", "email", "profile")

    @model_validator(mode="after")
    def _client_users_need_their_company(self) -> OidcProvider:
        if self.create_users_as == "client" and self.client is None:
            raise ValueError("a provider that creates client users names their client company (client)")
        if self.client is not None and self.create_users_as not in (None, "client"):
            raise ValueError("a client company's provider creates only client users")
        return self
