"""The qualified person certifies a lot's batch before its release (EudraLex Vol. 4 Part IV
§11; signed, meaning ``certified``): where the site's release policy asks for it, QA's
release (final or conditional) waits for it (409 ``qp-certification-required``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import Actor
from v2v_runtime.uow import UnitOfWork

from ..domain.lot import Lot
from ..domain.release_events import QpCertification
from . import messages
from .release_checks import load_lot


class CertificationEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    statement: str = Field(
        min_length=1,
        max_length=2000,
        description="e.g. manufactured and checked in compliance with the marketing "
        "authorisation and GMP",
    )


async def certify(
    uow: UnitOfWork, lot_id: str, entry: CertificationEntry, signer: Actor
) -> QpCertification:
    lot = await load_lot(uow, lot_id)
    by = messages.who(signer)
    done = lot.certify(entry.statement, by, uow.clock.now())
    await uow.repository(Lot).save(lot, by.model_dump())
    return done
