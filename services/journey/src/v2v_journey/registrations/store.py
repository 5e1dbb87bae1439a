"""The registrations in the journey's own database (its event store, hash-chained)."""

from __future__ import annotations

from collections.abc import Callable

from v2v_runtime.errors import NotFound
from v2v_runtime.repository import EventCodec, Repository
from v2v_runtime.uow import UnitOfWork

from ..model import JourneyInput
from .domain import EVENTS, JourneyRegistration, stream_id

CODEC = EventCodec("journey", EVENTS)
BRIDGE = {"user_id": "system:journey-bridge", "role": "system"}


class Registrations:
    def __init__(self, uow: Callable[[], UnitOfWork]) -> None:
        self._uow = uow

    @staticmethod
    def _repo(uow: UnitOfWork) -> Repository[JourneyRegistration]:
        return Repository(uow, JourneyRegistration, CODEC)

    async def claim(self, coi: str, enrolment_event_id: str, inp: JourneyInput) -> bool:
        """True when this enrolment may start the journey's run: it opened the journey now,
        or earlier without a run on record yet. False for a duplicate or replay."""
        async with self._uow() as uow:
            repo = self._repo(uow)
            reg = await repo.find(stream_id(coi))
            if reg is None:
                reg = JourneyRegistration.open(
                    coi, enrolment_event_id, inp.model_dump(mode="json"), uow.clock.now()
                )
                await repo.save(reg, BRIDGE, causation_id=enrolment_event_id)
                return True
            return reg.may_start_for(enrolment_event_id)

    async def started(self, coi: str, run_id: str, actor: dict[str, str] = BRIDGE) -> None:
        async with self._uow() as uow:
            repo = self._repo(uow)
            reg = await repo.get(stream_id(coi))
            if run_id in reg.runs:
                return
            reg.started(run_id, uow.clock.now())
            await repo.save(reg, actor)

    async def reopen(self, coi: str, operator: str, reason: str) -> JourneyInput:
        """Record an operator's reopening (who, why, when) and return the journey's input."""
        async with self._uow() as uow:
            repo = self._repo(uow)
            reg = await repo.find(stream_id(coi))
            if reg is None:
                raise NotFound("journey-not-registered", f"no journey registered for {coi}")
            reg.reopen(operator, reason, uow.clock.now())
            await repo.save(reg, operator_actor(operator))
            return JourneyInput.model_validate(reg.input)

    async def get(self, coi: str) -> JourneyRegistration | None:
        async with self._uow() as uow:
            return await self._repo(uow).find(stream_id(coi))


def operator_actor(operator: str) -> dict[str, str]:
    return {"user_id": operator, "role": "operator"}
