"""Exceptional release of an out-of-specification lot (EudraLex Vol. 4 Part IV §11.5; US:
expanded access, 21 CFR 312.310): at the treating physician's documented request (recorded
by the treatment center, signed), with the manufacturer's risk assessment (QA, signed), QA
releases the lot for that one patient (signed, meaning ``released``).

Consumers treat ``qc.lot.exceptionally-released`` as the lot's release: custody lets its
bags be thawed and infused, the journey ships and infuses it. It is keyed by the lot's
CoI, on ``v2v.qc.events``, after the lot's ``qc.panel.evaluated``."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from ..catalog import Service
from ..ids import CoI
from ..registry import REGISTRY, Contract
from .common import Actor, BoundedDatetime, Identifier, Name
from .qc import DecisionMeaning

Q = Service.QC


class Region(StrEnum):
    """The regulatory region of the manufacturing site: what an exceptional release owes
    the authority (EU: notification within 48 h of administration; US: expanded access)."""

    EU = "EU"
    US = "US"


@REGISTRY.event(Q, "lot.exceptionally-released", version=1)
class LotExceptionallyReleased(Contract):
    """QA released an out-of-specification lot at the treating physician's request, with
    an e-signature (meaning ``released``). ``decision_ref`` names the decision record in
    QC (``GET /exceptional-releases/{lot_id}``); ``expanded_access_ref`` the US IND/EA
    number (None at an EU site). Never the physician's or the patient's name."""

    coi: CoI
    lot_id: Identifier
    panel_id: Identifier
    decision_ref: Identifier
    region: Region
    site: Name | None = None
    expanded_access_ref: Identifier | None = None
    meaning: DecisionMeaning = DecisionMeaning.RELEASED
    decided_at: BoundedDatetime
    actor: Actor = Field(description="QA, who signed the decision")
