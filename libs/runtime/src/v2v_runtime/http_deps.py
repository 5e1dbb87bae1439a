"""FastAPI dependencies of every service's routes: the service kit (``Kit``) and a fresh
unit of work (``NewUow``) that the route opens with ``async with uow:``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .service import ServiceKit, kit_of
from .uow import UnitOfWork


def _kit(request: Request) -> ServiceKit:
    return kit_of(request.app)


def _new_uow(kit: Annotated[ServiceKit, Depends(_kit)]) -> UnitOfWork:
    return kit.uow()


Kit = Annotated[ServiceKit, Depends(_kit)]
NewUow = Annotated[UnitOfWork, Depends(_new_uow)]
