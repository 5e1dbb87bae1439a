"""The service's one SMTP configuration (``V2V_SMTP_*``; Helm values ``smtp``). Unset, the
signing security notice's relay (``V2V_SIGNING_SMTP_HOST/PORT/SENDER``) is used."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from v2v_runtime.signatures.settings import SigningSettings


class MailSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="V2V_SMTP_", extra="ignore", frozen=True)

    host: str | None = Field(None, description="the site's mail relay")
    port: int = Field(25, ge=1, le=65535)
    sender: str = Field("vein2vein@localhost", description="the From address")
    starttls: bool = False
    username: str | None = None
    password: SecretStr | None = None
    timeout_s: float = Field(10, gt=0, le=120)
    message_id_domain: str = Field("vein2vein", description="the Message-ID's right part")

    @classmethod
    def of_service(cls) -> MailSettings:
        own = cls()
        if own.host is not None:
            return own
        signing = SigningSettings()
        if signing.smtp_host is None:
            return own
        return own.model_copy(
            update={
                "host": signing.smtp_host,
                "port": signing.smtp_port,
                "sender": signing.smtp_sender,
            }
        )
