"""How a site signs (environment variables ``V2V_SIGNING_*``; Helm values ``signing``)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SigningSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="V2V_SIGNING_", extra="ignore", frozen=True)

    client_id: str = Field(
        "vein2vein-signing",
        description="the provider's client that re-authenticates signers (resource-owner "
        "password grant; confidential)",
    )
    client_secret: SecretStr | None = Field(None, description="that client's secret")
    scope: str = Field(
        "openid",
        description="scopes asked for at signing; the token must be for the API (its audience): "
        "e.g. Entra ID: 'api://<api-app-id>/.default'",
    )
    token_url: str | None = Field(
        None, description="the provider's token endpoint, if not the discovery document's"
    )
    one_component_in_session: bool = Field(
        False,
        description="21 CFR 11.200(a)(1)(i): after a signing with user id and password, later "
        "signings in the same continuous session may re-enter the password alone",
    )
    session_idle_minutes: int = Field(
        15, ge=1, le=480, description="a session with no signing for this long is not continuous"
    )
    failures_before_notice: int = Field(
        3, ge=1, le=100, description="failed signings of one account that alert security"
    )
    failure_window_minutes: int = Field(60, ge=1, description="failures are counted over this")
    security_contact: str | None = Field(
        None, description="e-mail address told at once of repeated failures (11.300(d))"
    )
    smtp_host: str | None = Field(None, description="mail relay for the security notice")
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_sender: str = Field("vein2vein@localhost", description="the notice's From address")
    time_zone: str = Field(
        "UTC", description="the site's time zone (IANA) signatures are shown in, beside UTC"
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
        return value
