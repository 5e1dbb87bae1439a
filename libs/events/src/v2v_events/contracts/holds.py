"""Holds: the quality unit (QC) places a hold on a unit, a final lot or a material lot, and
only QA's signature in QC lifts it. Each owning service keeps the holds of what it owns and
enforces them itself, whether or not a journey is waiting (docs/integrators.md, "Holds"):
custody refuses thaw, transfer and infusion of a held unit (a lot hold holds every unit of
the lot), batch refuses a held material lot at a step's scan, logistics refuses the pickup
of a shipment carrying a held unit.

Both events are on ``v2v.qc.events``, keyed by the item's CoI when it has one, else by the
item's id: a hold's placement and its release reach a consumer in order. ``hold_id`` is
stable (a deviation's hold on an item is ``H-<deviation id>-<kind>-<item id>``): a
consumer keeps holds by id, so a message delivered again changes nothing."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from ..catalog import Service
from ..ids import CoI
from ..registry import REGISTRY, Contract
from .common import Actor, BoundedDatetime, Identifier, Name, Text

Q = Service.QC


class HoldItemKind(StrEnum):
    """What a hold is placed on (QC's deviation items, less batches and instruments)."""

    UNIT = "unit"  # a unit in custody (apheresis or final-product bag): custody, logistics
    LOT = "lot"  # a final lot: every unit of it (custody, logistics)
    MATERIAL_LOT = "material-lot"  # a supplied material lot: batch


class HoldMeaning(StrEnum):
    """Part 11 meaning of a hold's release: QA releases the item from its hold, as it
    releases a material lot from quarantine."""

    RELEASED = "released"


@REGISTRY.event(Q, "hold.placed", version=1)
class HoldPlaced(Contract):
    """A hold placed on an item, by a deviation's containment or by QA directly. The item
    may not be used (thawed, moved, infused, consumed, dispatched) until the hold is
    released. Never a patient's name: the CoI only."""

    hold_id: Identifier
    item_kind: HoldItemKind
    item_id: Identifier
    coi: CoI | None = Field(default=None, description="the item's CoI, when it has one")
    site: Name | None = None
    deviation_id: Identifier | None = None
    reason: Text = Field(min_length=1)
    placed_at: BoundedDatetime
    placed_by: Actor


@REGISTRY.event(Q, "hold.released", version=1)
class HoldReleased(Contract):
    """QA released a hold with an e-signature (meaning ``released``): the item may be used
    again, unless another hold is still placed on it (or on its lot)."""

    hold_id: Identifier
    item_kind: HoldItemKind
    item_id: Identifier
    coi: CoI | None = None
    site: Name | None = None
    deviation_id: Identifier | None = None
    reason: Text = Field(min_length=1)
    meaning: HoldMeaning = HoldMeaning.RELEASED
    released_at: BoundedDatetime
    released_by: Actor


@REGISTRY.command(Q, "hold.place", version=1)
class PlaceHold(Contract):
    """A requester (the journey's compensation) asks the quality unit to hold an item it can
    no longer use as planned (a lot that failed or was not delivered, an apheresis unit past
    its stability window): QC places the hold (``hold.placed``, ``placed_by`` the requester,
    the reason given) and only QA's signature lifts it or QA disposes of the item. It never
    rejects anything: disposition is QA's alone. ``requested_by`` names the journey (its
    workflow id) for the record. Repeated for the same item and requester: the same hold."""

    coi: CoI
    item_kind: HoldItemKind
    item_id: Identifier
    reason: Text = Field(min_length=1)
    deviation_id: Identifier | None = None
    site: Name | None = None
    requested_by: Identifier
    actor: Actor
