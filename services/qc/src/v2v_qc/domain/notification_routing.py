"""Who is told of what, and how (the site's routing file, ``V2V_NOTIFICATION_ROUTING``):
the addresses of on-call roles and of the treatment center per site, people's addresses by
user id, webhook endpoints (URL and the name of the environment variable holding the HMAC
secret — never the secret itself), the escalation chain and acknowledgement window per
class, and the retry policy of failed deliveries.

Pure: a pydantic model read from JSON by adapters/config.py."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Target(_Frozen):
    """Where one notice goes: an e-mail address, or a webhook endpoint by its name."""

    channel: Channel
    to: str = Field(min_length=1, max_length=320)


class Recipient(Target):
    """A target and why it is told (a role, the treatment center, the deviation's opener)."""

    reason: str = Field(min_length=1, max_length=128)


class Webhook(_Frozen):
    url: str = Field(min_length=1, pattern=r"^https?://")
    secret_env: str = Field(
        min_length=1, description="the environment variable holding the HMAC-SHA256 secret"
    )
    timeout_s: float = Field(5.0, gt=0, le=60)


class SiteRouting(_Frozen):
    roles: dict[str, list[Target]] = Field(
        default_factory=dict, description="role -> the targets of whoever is on call for it"
    )
    treatment_center: list[Target] = Field(default_factory=list)


class Retry(_Frozen):
    max_attempts: int = Field(6, ge=1, le=50)
    backoff_s: float = Field(30, gt=0, description="after the first failure; doubled each time")
    max_backoff_s: float = Field(1800, gt=0)

    def delay(self, failures: int) -> timedelta | None:
        """How long after the ``failures``-th failed attempt the next one is due (None: no
        attempt is left)."""
        if failures >= self.max_attempts:
            return None
        seconds = min(self.backoff_s * 2 ** (failures - 1), self.max_backoff_s)
        return timedelta(seconds=seconds)


class EscalationClass(_Frozen):
    """How a notice that must be acknowledged climbs: the roles told in turn, each given
    ``acknowledge_within_s`` before the next is told."""

    chain: list[str] = Field(min_length=1)
    acknowledge_within_s: float = Field(gt=0)

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.acknowledge_within_s)


class Routing(_Frozen):
    format: str = Field("v2v-qc-notifications/1", pattern=r"^v2v-qc-notifications/1$")
    sites: dict[str, SiteRouting] = Field(default_factory=dict)
    people: dict[str, Target] = Field(
        default_factory=dict, description="user id -> the person's target"
    )
    webhooks: dict[str, Webhook] = Field(default_factory=dict)
    escalation: dict[str, EscalationClass] = Field(
        default_factory=lambda: {
            "critical": EscalationClass(
                chain=["qa-reviewer", "qualified-person"], acknowledge_within_s=1800
            )
        },
        description="class (critical, ...) -> its escalation chain and window",
    )
    informed_roles: list[str] = Field(
        default_factory=lambda: ["qa-reviewer"],
        description="the roles of the site told of every deviation opened (no acknowledgement)",
    )
    retry: Retry = Field(default_factory=Retry)

    @model_validator(mode="after")
    def _webhooks_named(self) -> Routing:
        targets = [t for s in self.sites.values() for ts in s.roles.values() for t in ts]
        targets += [t for s in self.sites.values() for t in s.treatment_center]
        targets += list(self.people.values())
        for t in targets:
            if t.channel is Channel.WEBHOOK and t.to not in self.webhooks:
                raise ValueError(f"webhook {t.to!r} is used but not declared under 'webhooks'")
        return self

    def role_at(self, role: str, site: str | None) -> list[Recipient]:
        found = [] if site is None else self.sites.get(site, SiteRouting()).roles.get(role, [])
        return [Recipient(channel=t.channel, to=t.to, reason=role) for t in found]

    def treatment_center_of(self, site: str | None) -> list[Recipient]:
        found = [] if site is None else self.sites.get(site, SiteRouting()).treatment_center
        return [Recipient(channel=t.channel, to=t.to, reason="treatment-center") for t in found]

    def person(self, user_id: str, reason: str) -> list[Recipient]:
        t = self.people.get(user_id)
        return [] if t is None else [Recipient(channel=t.channel, to=t.to, reason=reason)]


def distinct(recipients: list[Recipient]) -> list[Recipient]:
    """Each target once (the first reason kept)."""
    seen: set[tuple[Channel, str]] = set()
    out = []
    for r in recipients:
        if (r.channel, r.to) not in seen:
            seen.add((r.channel, r.to))
            out.append(r)
    return out
