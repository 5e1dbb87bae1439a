"""A journey deadline missed (the journey's treatment-center.notified naming the deadline)
opens one deviation on the chain of identity when the policy names that deadline as a GMP
one — the apheresis stability window, QC results, delivery... — and none for a collection
that cannot be scheduled, a decision people still owe, or any other notification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from v2v_events.contracts.journey import NotificationReason, TreatmentCenterNotified
from v2v_runtime.testing import ServiceHarness

from .raised import blocking, deliver, deviations
from .support import COI, produced

AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
SITE = "manufacturing-site-1"


def notified(
    reason: NotificationReason,
    deadline: str | None,
    *,
    lot_id: str | None = None,
    at: datetime = AT,
    detail: str = "apheresis G123498654321 not received within its stability window",
) -> TreatmentCenterNotified:
    return TreatmentCenterNotified(
        coi=COI,
        treatment_center="treatment-center-1",
        reason=reason,
        detail=detail,
        lot_id=lot_id,
        notified_at=at,
        deadline=deadline,
        manufacturing_site=SITE,
    )


@pytest.mark.requirement("EU-PartIV.11.4")
async def test_a_missed_stability_window_opens_one_deviation(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    msg = notified(NotificationReason.APHERESIS_LATE, "apheresis-receipt")
    await deliver(harness, msg, COI, "late-1")
    await deliver(harness, msg, COI, "late-1-again")  # the journey published it again
    [deviation] = await deviations(client, coi=COI)
    assert (deviation["source"], deviation["classification"]) == ("deadline-missed", "major")
    assert (deviation["site"], deviation["lot_id"], deviation["batches"]) == (SITE, None, [])
    assert deviation["opened_by"] == {"user_id": "system:system-journey", "role": "system-journey"}
    assert "missed its apheresis-receipt deadline" in deviation["description"]
    assert "not received within its stability window" in deviation["description"]


async def test_overdue_qc_results_name_the_lot_and_hold_it_only_while_major(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await deliver(harness, produced("lot-1"), COI, "produced-1")
    msg = notified(
        NotificationReason.DEADLINE_MISSED,
        "qc-results",
        lot_id="lot-1",
        detail="QC results for lot lot-1 overdue",
    )
    await deliver(harness, msg, COI, "qc-late")
    [deviation] = await deviations(client, lot_id="lot-1")
    assert deviation["classification"] == "minor"  # the policy's: it does not block release
    assert "(lot lot-1)" in deviation["description"]
    assert await blocking(harness, "lot-1") == []


@pytest.mark.parametrize(
    ("reason", "deadline"),
    [
        (NotificationReason.DEADLINE_MISSED, "slot-wait"),  # scheduling: not a GMP deadline
        (NotificationReason.DEADLINE_MISSED, "recovery-decision"),  # people's decision
        (NotificationReason.DEADLINE_MISSED, None),  # a v1 notification: which one unknown
        (NotificationReason.QC_FAILED, "qc-results"),  # not a missed deadline
        (NotificationReason.RECOLLECTION_NEEDED, None),
    ],
)
async def test_other_notifications_open_none(
    harness: ServiceHarness,
    client: httpx.AsyncClient,
    reason: NotificationReason,
    deadline: str | None,
) -> None:
    await deliver(harness, notified(reason, deadline, at=AT + timedelta(hours=1)), COI, "n-1")
    assert await deviations(client, coi=COI) == []
