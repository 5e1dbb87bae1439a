"""Authorisation: the platform's roles, one declaration per route, and the caller as every
record stores it.

A route declares who may call it with a parameter ``caller: Annotated[Caller, Allow(...)]``:
the bearer token is verified (401 without a valid one), then the principal must hold one of
the listed roles (403 otherwise). The declaration is data on the route, so the role matrix
(``docs/roles.md``) is generated from the code and a test calls every route with every role.
Machine clients (client-credentials tokens) are refused unless the route names their role:
they never sign, read patient identity or dispose of material.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute

from v2v_events.bounds import ID_MAX
from v2v_events.contracts.common import Actor

from .auth.claims import Principal
from .auth.dependency import current_principal
from .auth.errors import InvalidToken
from .caller_context import CallerRecord, current_caller
from .errors import DomainError


class Roles:
    """The platform's roles (realm roles at the provider)."""

    TREATMENT_CENTER_COORDINATOR = "treatment-center-coordinator"
    APHERESIS_NURSE = "apheresis-nurse"
    LOGISTICS_COORDINATOR = "logistics-coordinator"
    COURIER = "courier"
    MATERIALS_HANDLER = "materials-handler"
    CELL_THERAPY_SPECIALIST = "cell-therapy-specialist"
    MANUFACTURING_SUPERVISOR = "manufacturing-supervisor"
    QC_ANALYST = "qc-analyst"
    QC_REVIEWER = "qc-reviewer"
    QA_REVIEWER = "qa-reviewer"
    INFUSION_NURSE = "infusion-nurse"
    ADMINISTRATOR = "administrator"
    AUDITOR = "auditor"
    QUALIFIED_PERSON = "qualified-person"
    # machine clients (OAuth client credentials)
    SYSTEM_JOURNEY = "system-journey"
    DEVICE_INGEST = "device-ingest"
    COURIER_INTEGRATION = "courier-integration"


PEOPLE: tuple[str, ...] = (
    Roles.TREATMENT_CENTER_COORDINATOR,
    Roles.APHERESIS_NURSE,
    Roles.LOGISTICS_COORDINATOR,
    Roles.COURIER,
    Roles.MATERIALS_HANDLER,
    Roles.CELL_THERAPY_SPECIALIST,
    Roles.MANUFACTURING_SUPERVISOR,
    Roles.QC_ANALYST,
    Roles.QC_REVIEWER,
    Roles.QA_REVIEWER,
    Roles.INFUSION_NURSE,
    Roles.ADMINISTRATOR,
    Roles.AUDITOR,
    Roles.QUALIFIED_PERSON,
)
MACHINES: tuple[str, ...] = (
    Roles.SYSTEM_JOURNEY,
    Roles.DEVICE_INGEST,
    Roles.COURIER_INTEGRATION,
)
ALL_ROLES: tuple[str, ...] = (*PEOPLE, *MACHINES)
# What each role is for (docs/roles.md; the realm's role descriptions say the same).
DUTIES: dict[str, str] = {
    Roles.TREATMENT_CENTER_COORDINATOR: "enrols patients, receives product at the treatment "
    "center, decides on waiting collections",
    Roles.APHERESIS_NURSE: "records apheresis collections and hands units over",
    Roles.LOGISTICS_COORDINATOR: "plans shipments, cancels bookings, decides on scheduling",
    Roles.COURIER: "records pick-ups, hand-overs and deliveries with temperature readings",
    Roles.MATERIALS_HANDLER: "receives and hands over units at the manufacturing site",
    Roles.CELL_THERAPY_SPECIALIST: "performs and records manufacturing (the operator)",
    Roles.MANUFACTURING_SUPERVISOR: "supervises manufacturing; rejects a failed lot",
    Roles.QC_ANALYST: "enters QC results",
    Roles.QC_REVIEWER: "reviews QC results",
    Roles.QA_REVIEWER: "the quality unit: releases or rejects lots, triages and closes "
    "deviations, approves CAPA plans and checks their effectiveness, decides recoveries",
    Roles.INFUSION_NURSE: "records thaw and infusion at the bedside",
    Roles.ADMINISTRATOR: "configuration and users; no GMP records",
    Roles.AUDITOR: "reads everything, audit trails included; changes nothing",
    Roles.QUALIFIED_PERSON: "certifies ATMP batches (EU)",
    Roles.SYSTEM_JOURNEY: "machine: the journey orchestrator (Kafka only, never HTTP)",
    Roles.DEVICE_INGEST: "machine: storage and equipment monitoring feeds",
    Roles.COURIER_INTEGRATION: "machine: a courier's or data logger's system",
}
# Roles that do GMP work (everyone but the administrator and the read-only auditor).
GMP_PEOPLE: tuple[str, ...] = tuple(
    r for r in PEOPLE if r not in (Roles.ADMINISTRATOR, Roles.AUDITOR)
)
# Roles whose work needs the patient's identity (name, birth date, record number).
CLINICAL: tuple[str, ...] = (
    Roles.TREATMENT_CENTER_COORDINATOR,
    Roles.APHERESIS_NURSE,
    Roles.INFUSION_NURSE,
)
ALL_SITES = "*"  # a sites claim value: every site (e.g. a central quality unit)


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


@dataclass(frozen=True)
class Caller:
    """The authenticated person or machine client behind a request, acting in ``role`` (the
    first of the route's roles they hold)."""

    principal: Principal
    role: str

    @property
    def actor(self) -> Actor:
        """As public messages carry it: the provider's stable subject id and the role."""
        return Actor(user_id=self.user_id, role=self.role)

    @property
    def user_id(self) -> str:
        p = self.principal
        return f"system:{p.client_id or p.username}" if p.machine else p.subject

    @property
    def who(self) -> dict[str, Any]:
        """As every stored event records it: subject, role, printed name and login."""
        return {
            "user_id": self.user_id,
            "role": self.role,
            "name": self.principal.name or self.principal.username,
            "username": self.principal.username,
        }

    @property
    def sees_all_sites(self) -> bool:
        return ALL_SITES in self.principal.sites or self.principal.machine

    def may_see(self, *sites: str | None) -> bool:
        """Whether a record of ``sites`` (any of them) is within the caller's sites."""
        return self.sees_all_sites or any(s in self.principal.sites for s in sites if s)

    def require_site(self, site: str, what: str) -> None:
        """403 unless ``site`` is one of the caller's (for acts naming a site)."""
        if not self.may_see(site):
            raise Forbidden(
                "site-not-yours",
                f"{what} at {site!r} is outside your sites",
                site=site,
            )

    @property
    def reads_identity(self) -> bool:
        """Whether patient-identifying data may be shown to this caller."""
        return not self.principal.machine and self.role in CLINICAL


class Allow:
    """The route's declaration: the roles that may call it. Used as ``Depends(Allow(...))``
    (see ``Allowed``); readable from the route for docs/roles.md and the matrix test."""

    def __init__(self, *roles: str, pii: bool = False) -> None:
        unknown = [r for r in roles if r not in ALL_ROLES]
        if unknown or not roles:
            raise ValueError(f"declare at least one known role (unknown: {unknown})")
        self.roles = tuple(roles)
        self.pii = pii  # the route may show patient identity (to clinical roles only)

    async def __call__(self, principal: Annotated[Principal, Depends(current_principal)]) -> Caller:
        role = next((r for r in self.roles if r in principal.roles), None)
        if role is None:
            raise Forbidden(
                "role-not-allowed",
                f"this requires one of the roles {', '.join(self.roles)}",
                allowed_roles=list(self.roles),
            )
        caller = Caller(principal, role)
        if len(caller.user_id) > ID_MAX:
            raise InvalidToken("claims", f"the token's subject is longer than {ID_MAX} characters")
        who = caller.who
        current_caller.set(CallerRecord(caller.user_id, who["name"], who["username"]))
        return caller


def allowed(*roles: str, pii: bool = False) -> Any:
    """``caller: Annotated[Caller, allowed(Roles.QA_REVIEWER)]`` on a route."""
    return Depends(Allow(*roles, pii=pii))


@dataclass(frozen=True)
class RouteRoles:
    method: str
    path: str
    roles: tuple[str, ...]
    pii: bool
    summary: str


def declared_roles(app: FastAPI) -> list[RouteRoles]:
    """Every route with its declaration (roles () for a route without one: public)."""
    out: list[RouteRoles] = []
    for prefix, route in _api_routes(app.routes, ""):
        allow = _find_allow(route.dependant.dependencies)
        for method in sorted(route.methods or ()):
            out.append(
                RouteRoles(
                    method=method,
                    path=prefix + route.path,
                    roles=allow.roles if allow else (),
                    pii=allow.pii if allow else False,
                    summary=(route.summary or route.name or "").replace("_", " ").strip(),
                )
            )
    return out


def _api_routes(routes: Iterable[Any], prefix: str) -> Iterable[tuple[str, APIRoute]]:
    """The API routes, also inside included routers (FastAPI >= 0.16x keeps an included
    router as one route holding the original router and its prefix)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix, route
            continue
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from _api_routes(inner.routes, prefix + getattr(context, "prefix", ""))


def _find_allow(dependencies: Iterable[Any]) -> Allow | None:
    for dep in dependencies:
        if isinstance(dep.call, Allow):
            return dep.call
        found = _find_allow(dep.dependencies)
        if found is not None:
            return found
    return None
