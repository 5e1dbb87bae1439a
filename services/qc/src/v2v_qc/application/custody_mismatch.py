"""A receipt scan custody refused (custody's ``receipt.refused``: the CoI or DIN scanned is
not the unit's, the unit is unknown, rejected or infused, or not expected here) opens one
deviation on the chain of identity, naming the unit, what was scanned, where and why; its
class is the policy's (major by default). One per refusal: its id follows from the unit's
CoI, the unit and the time custody refused it.

Seen at the lot's manufacturing site when the unit is a bag of a lot QC knows (that lot is
linked), else at the receiving location."""

from __future__ import annotations

from v2v_events.bounds import clip
from v2v_events.contracts.custody import ReceiptRefused
from v2v_runtime.uow import UnitOfWork

from ..domain.deviation import CUSTODY_MISMATCH_SOURCE, Deviation
from ..domain.raising import RaisingPolicy
from . import messages
from .deviations_on_chain import Occurrence, occurrence_id, open_on_chain


def deviation_id_of(msg: ReceiptRefused) -> str:
    return occurrence_id(CUSTODY_MISMATCH_SOURCE, msg.coi, msg.unit_id, msg.refused_at.isoformat())


def description(msg: ReceiptRefused) -> str:
    din = f", DIN {msg.scanned_din}" if msg.scanned_din else ""
    return clip(
        f"Custody refused the receipt of unit {msg.unit_id} (chain of identity {msg.coi}) at "
        f"{msg.location} on {msg.refused_at.isoformat()}: {msg.reason}. Scanned: CoI "
        f"{msg.scanned_coi}{din}."
    )


async def open_for_refused_receipt(
    uow: UnitOfWork, msg: ReceiptRefused, policy: RaisingPolicy
) -> Deviation | None:
    """The deviation of this refusal (None: opened already, by an earlier delivery)."""
    occurrence = Occurrence(
        deviation_id=deviation_id_of(msg),
        coi=msg.coi,
        source=CUSTODY_MISMATCH_SOURCE,
        classification=policy.custody_mismatch,
        description=description(msg),
        site=msg.location,
        unit_ids=[msg.unit_id],
        lot_site_first=True,
    )
    return await open_on_chain(uow, occurrence, messages.who(msg.actor))
