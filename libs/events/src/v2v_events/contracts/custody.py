"""Events owned by the custody service.

Custody is the only service that holds patient-identifying data; none of it appears here:
messages carry the chain-of-identity id only (21 CFR 1271.290(c)).
"""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from ..catalog import Service
from ..ids import CoI
from ..registry import REGISTRY, Contract
from .common import Actor


@REGISTRY.event(Service.CUSTODY, "patient.enrolled", version=1)
class PatientEnrolled(Contract):
    """A treatment center enrolled a patient and custody issued the chain-of-identity id."""

    coi: CoI
    therapy: str = Field(min_length=1, description="e.g. CAR-T, TCR, NK, TIL")
    product_code: str = Field(pattern=r"^S", description="ISBT 128 cellular therapy code")
    autologous: bool
    treatment_center: str = Field(min_length=1)
    manufacturing_site: str = Field(min_length=1)
    enrolled_at: AwareDatetime
    actor: Actor
