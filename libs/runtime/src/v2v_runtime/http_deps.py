"""FastAPI dependencies of every service's routes: the service kit (``Kit``), a fresh
unit of work (``NewUow``) that the route opens with ``async with uow:``, and the configured
reason codes (``Reasons``) a correction's ``reason_code`` is checked against."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .reasons import ReasonCodes
from .service import ServiceKit, kit_of
from .signatures.gate import Signing
from .uow import UnitOfWork


def _kit(request: Request) -> ServiceKit:
    return kit_of(request.app)


def _new_uow(kit: Annotated[ServiceKit, Depends(_kit)]) -> UnitOfWork:
    return kit.uow()


def _reasons(kit: Annotated[ServiceKit, Depends(_kit)]) -> ReasonCodes:
    return kit.reason_codes


Kit = Annotated[ServiceKit, Depends(_kit)]
NewUow = Annotated[UnitOfWork, Depends(_new_uow)]
Reasons = Annotated[ReasonCodes, Depends(_reasons)]


def _signing(kit: Annotated[ServiceKit, Depends(_kit)]) -> Signing:
    return kit.signing()


# The gate of signed acts (v2v_runtime.signatures.gate).
SigningGate = Annotated[Signing, Depends(_signing)]
