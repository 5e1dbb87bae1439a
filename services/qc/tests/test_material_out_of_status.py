"""A material lot found out of status after use (batch's material-lot.rejected naming the
batches that had used it: a recall after use) opens one deviation on those batches, naming
the material lot, major by default, holding their lots (known now or registered later);
a lot no batch used opens none (refusing it is the control working), a redelivery none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from v2v_events.contracts.batch import MaterialLotRejected, MaterialType
from v2v_events.contracts.common import Actor
from v2v_events.contracts.equipment import UsedBatch
from v2v_runtime.testing import ServiceHarness

from .raised import blocking, deliver, deviations, ids
from .support import COI, OTHER_COI, produced

AT = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
QA_ACTOR = Actor(user_id="u-qa-materials", role="qa-reviewer")
SITE = "MS-1"


def rejected(*batches: tuple[str, str], lot_id: str = "LV-LOT-7") -> MaterialLotRejected:
    return MaterialLotRejected(
        lot_id=lot_id,
        material_code="LV-CD19-01",
        material_type=MaterialType.VECTOR,
        site=SITE,
        supplier="supplier-1",
        supplier_lot="LV26-0114",
        reason="supplier recall R-77: titre below its certificate",
        rejected_at=AT,
        actor=QA_ACTOR,
        batches=[
            UsedBatch(
                batch_id=batch_id,
                coi=coi,
                steps=["transduction"],
                first_used_at=AT - timedelta(days=6),
                last_used_at=AT - timedelta(days=6),
            )
            for batch_id, coi in batches
        ],
        batch_count=len(batches),
    )


@pytest.mark.requirement("EU-PartIV.7", "EU-PartIV.11.4", "EU-PartIV.14.2")
async def test_a_lot_rejected_after_use_opens_one_deviation_on_the_batches(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await deliver(harness, produced("lot-1"), COI, "produced-1")  # batch-of-lot-1
    msg = rejected(("batch-of-lot-1", COI), ("batch-of-lot-2", OTHER_COI))
    await deliver(harness, msg, msg.lot_id, "rejected-1")
    await deliver(harness, msg, msg.lot_id, "rejected-1-again")

    [deviation] = await deviations(client, material_lot_id="LV-LOT-7")
    assert (deviation["source"], deviation["classification"]) == (
        "material-out-of-status",
        "major",
    )
    assert (deviation["coi"], deviation["lot_id"], deviation["site"]) == (None, None, SITE)
    assert deviation["opened_by"] == {"user_id": "u-qa-materials", "role": "qa-reviewer"}
    assert [(b["batch_id"], b["coi"], b["lot_id"]) for b in deviation["batches"]] == [
        ("batch-of-lot-1", COI, "lot-1"),
        ("batch-of-lot-2", OTHER_COI, None),
    ]
    assert "used at transduction" in deviation["batches"][0]["detail"]
    for text in ("LV-LOT-7", "vector LV-CD19-01", "supplier recall R-77", "2 batch(es)"):
        assert text in deviation["description"], text
    assert await blocking(harness, "lot-1") == [deviation["deviation_id"]]
    # the other batch's lot, registered later while it is open, is held too
    await deliver(harness, produced("lot-2", coi=OTHER_COI), OTHER_COI, "produced-2")
    assert await blocking(harness, "lot-2") == [deviation["deviation_id"]]
    for by in ({"coi": OTHER_COI}, {"batch_id": "batch-of-lot-1"}, {"lot_id": "lot-2"}):
        assert ids(await deviations(client, **by)) == [deviation["deviation_id"]], by


async def test_a_lot_rejected_before_any_use_opens_none(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    unused = rejected(lot_id="LV-LOT-8")
    await deliver(harness, unused, unused.lot_id, "rejected-8")
    # a v1 message did not say which batches used it: none opened either
    v1 = unused.model_copy(update={"lot_id": "LV-LOT-9", "batch_count": None})
    await deliver(harness, v1, v1.lot_id, "rejected-9")
    assert await deviations(client, material_lot_id="LV-LOT-8") == []
    assert await deviations(client, material_lot_id="LV-LOT-9") == []
