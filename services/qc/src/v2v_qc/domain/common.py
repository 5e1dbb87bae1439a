"""Small shared pieces of the QC domain: who acted, roles, and the 403 refusal."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from v2v_runtime.errors import DomainError

QA_REVIEWER = "qa-reviewer"
"""The role of the quality unit: only it signs release decisions and classifies and closes
deviations."""
QUALIFIED_PERSON = "qualified-person"
"""Certifies a batch before its release where the site asks for it (EudraLex IV §11)."""
QC_REVIEWER = "qc-reviewer"
"""The QC reviewer: reviews a panel's results (second person, never one of its analysts)."""
QUALIFIED_PERSON = "qualified-person"
RECOVERY_DECIDERS = (QA_REVIEWER, QUALIFIED_PERSON)
"""Who decides how a journey goes on after its lot failed: QA, or the qualified person
(who certifies batches in the EU and may take the decision in QA's stead)."""
MANUFACTURING_SUPERVISOR = "manufacturing-supervisor"
INVESTIGATORS = (QA_REVIEWER, QC_REVIEWER, MANUFACTURING_SUPERVISOR)
"""Who records a deviation's containment and investigation: QA, the QC reviewer (a lab
investigation) or the manufacturing supervisor (the floor's)."""

SYSTEM_ROLE = "system"


class Who(BaseModel):
    """The person (or system) who acted, as recorded in the domain events."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str = Field(min_length=1, max_length=128)
    role: str = Field(min_length=1, max_length=64)


DOSE_CALCULATOR = Who(user_id="qc-dose-calculator", role=SYSTEM_ROLE)
EVALUATOR = Who(user_id="qc-evaluator", role=SYSTEM_ROLE)
# The journey, as it signs its commands: the opener of a deviation for a deadline it missed.
JOURNEY = Who(user_id="system:system-journey", role="system-journey")


class Forbidden(DomainError):
    """The actor's role may not do this (HTTP 403)."""

    status = 403
    title = "Forbidden"


def require_role(who: Who, role: str, action: str) -> None:
    if who.role != role:
        raise Forbidden(
            "role-not-allowed",
            f"{action} needs the role {role!r}; {who.user_id!r} acts as {who.role!r}",
            required_role=role,
        )


def require_any_role(who: Who, roles: tuple[str, ...], action: str) -> None:
    if who.role not in roles:
        raise Forbidden(
            "role-not-allowed",
            f"{action} needs one of the roles {', '.join(roles)}; {who.user_id!r} acts as "
            f"{who.role!r}",
            allowed_roles=list(roles),
        )
