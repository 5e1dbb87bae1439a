"""Which class QC proposes for a deviation it raises by itself from another service's event
(versioned configuration, ``policy/raised-deviations.json``): QA triages each one, so this
is the opener's proposal, and it decides whether the deviation blocks release at once.

Defaults (DOMAIN.md): a custody mismatch is major; an excursion on an inbound (fresh
apheresis) shipment is major — starting material, its impact shows in manufacturing and the
lot's release testing; on an outbound shipment of cryopreserved product it is critical — the
patient's only dose, at the treatment center, that cannot be tested again without thawing
it; a material lot rejected after batches used it is major (their lots held). A missed
journey deadline opens a deviation only when the policy names that deadline (a GMP one: the
apheresis stability window, the in-plant time, QC results, the QA decision, delivery,
infusion before expiry), not for scheduling or people's decisions still awaited.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from v2v_events.contracts.common import ShipmentDirection

from .events import Classification


class RaisingPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1)
    description: str = ""
    custody_mismatch: Classification = Field(description="a receipt scan custody refused")
    shipment_excursion: dict[ShipmentDirection, Classification] = Field(
        description="a shipment delivered with a data-logger excursion, by direction"
    )
    material_out_of_status: Classification = Field(
        description="a material lot rejected after batches used it"
    )
    missed_deadlines: dict[str, Classification] = Field(
        default_factory=dict,
        description="journey deadline (as the journey names it) -> class; a deadline not "
        "listed opens no deviation",
    )

    @field_validator("shipment_excursion")
    @classmethod
    def _both_directions(
        cls, v: dict[ShipmentDirection, Classification]
    ) -> dict[ShipmentDirection, Classification]:
        missing = sorted(set(ShipmentDirection) - set(v))
        if missing:
            raise ValueError(f"no class for shipments {', '.join(missing)}")
        return v
