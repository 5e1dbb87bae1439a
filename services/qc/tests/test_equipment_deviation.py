"""An instrument found out of tolerance (batch's equipment.out-of-tolerance): one deviation
per calibration, on the batches used since it was last in tolerance, holding the lots of
those batches (known now or registered later) until QA closes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from v2v_events.contracts.common import Actor
from v2v_events.contracts.equipment import EquipmentOutOfTolerance, Tolerance, UsedBatch
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, as_user, signed

from .raised import blocking
from .support import COI, OTHER_COI, QA, investigated, no_capa, problem, produced

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SUPERVISOR = Actor(user_id="u-metrology", role="manufacturing-supervisor")
PARIS = as_user("u-qc-paris", "qc-reviewer", sites=["SITE-PARIS-1"])
SITE = "MS-1"  # the site of support.produced's lots


def finding(*batches: tuple[str, str], calibration_id: str = "cal-7") -> EquipmentOutOfTolerance:
    return EquipmentOutOfTolerance(
        calibration_id=calibration_id,
        equipment_id="CEN-0042",
        equipment_type="centrifuge",
        site=SITE,
        location="grade-C room 2.14",
        performed_at=AT,
        as_left=Tolerance.IN_TOLERANCE,
        certificate_ref="CAL-2026-0815",
        since=AT - timedelta(days=180),
        batches=[
            UsedBatch(
                batch_id=batch_id,
                coi=coi,
                steps=["harvest"],
                first_used_at=AT - timedelta(days=3),
                last_used_at=AT - timedelta(days=2),
            )
            for batch_id, coi in batches
        ],
        batch_count=len(batches),
        actor=SUPERVISOR,
    )


async def deliver(h: ServiceHarness, msg: EquipmentOutOfTolerance, id: str) -> None:
    assert await h.deliver(msg, subject=msg.equipment_id, id=id) is Outcome.PROCESSED


@pytest.mark.requirement("EU-PartIV.5", "EU-PartIV.11.4")
async def test_one_deviation_names_the_batches_and_holds_their_lots(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    lot = produced("lot-1")  # batch-of-lot-1, known to QC before the finding
    assert await harness.deliver(lot, subject=COI, id="produced-lot-1") is Outcome.PROCESSED
    msg = finding(("batch-of-lot-1", COI), ("batch-of-lot-2", OTHER_COI))
    await deliver(harness, msg, "finding-1")
    await deliver(harness, msg, "finding-1-again")  # redelivered under another id: no second

    r = await client.get("/deviations", params={"equipment_id": "CEN-0042"})
    [deviation] = r.json()
    assert (deviation["source"], deviation["classification"]) == ("equipment", "major")
    assert (deviation["coi"], deviation["lot_id"], deviation["site"]) == (None, None, SITE)
    assert [(b["batch_id"], b["lot_id"]) for b in deviation["batches"]] == [
        ("batch-of-lot-1", "lot-1"),
        ("batch-of-lot-2", None),
    ]
    assert "2 batch(es)" in deviation["description"] and "CAL-2026-0815" in deviation["description"]
    assert deviation["opened_by"] == {"user_id": "u-metrology", "role": "manufacturing-supervisor"}
    assert await blocking(harness, "lot-1") == [deviation["deviation_id"]]

    # the other batch's lot, registered later while the deviation is open, is held too
    later = produced("lot-2", coi=OTHER_COI)
    assert await harness.deliver(later, subject=OTHER_COI, id="produced-lot-2") is Outcome.PROCESSED
    assert await blocking(harness, "lot-2") == [deviation["deviation_id"]]
    by_coi = (await client.get("/deviations", params={"coi": OTHER_COI})).json()
    assert [d["deviation_id"] for d in by_coi] == [deviation["deviation_id"]]
    by_lot = (await client.get("/deviations", params={"lot_id": "lot-2"})).json()
    assert [d["deviation_id"] for d in by_lot] == [deviation["deviation_id"]]

    # another site's reader does not see it
    assert (
        await client.get("/deviations", params={"equipment_id": "CEN-0042"}, headers=PARIS)
    ).json() == []
    url = f"/deviations/{deviation['deviation_id']}"
    problem(await client.get(url, headers=PARIS), 404, "deviation-not-found")

    # QA classifies it and closes it after the impact assessment, signed: both lots are free
    await investigated(client, url, "major")
    closing = no_capa("no impact: ±0.5 % rpm")
    shown = problem(await client.post(f"{url}/close", json=closing, headers=QA), 428)
    assert "of batches batch-of-lot-1, batch-of-lot-2" in shown["content"]["statement"]
    closed = await signed(client, f"{url}/close", closing, QA)
    assert closed.status_code == 200, closed.text
    assert [s["meaning"] for s in closed.json()["signatures"]] == ["approved", "approved"]
    assert await blocking(harness, "lot-1") == [] and await blocking(harness, "lot-2") == []


async def test_a_finding_with_no_batch_used_since_is_a_minor_deviation(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await deliver(harness, finding(calibration_id="cal-8"), "finding-8")
    [deviation] = (await client.get("/deviations", params={"equipment_id": "CEN-0042"})).json()
    assert deviation["classification"] == "minor" and deviation["batches"] == []
    problem(await client.get("/deviations"), 422, "filter-required")


async def test_a_lot_registered_after_closure_is_not_held(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await deliver(harness, finding(("batch-of-lot-3", COI), calibration_id="cal-9"), "f-9")
    [deviation] = (await client.get("/deviations", params={"batch_id": "batch-of-lot-3"})).json()
    url = f"/deviations/{deviation['deviation_id']}"
    await investigated(client, url, "minor")
    closed = await signed(client, f"{url}/close", no_capa("assessed"), QA)
    assert closed.status_code == 200, closed.text
    lot = produced("lot-3")
    assert await harness.deliver(lot, subject=COI, id="produced-lot-3") is Outcome.PROCESSED
    assert await blocking(harness, "lot-3") == []
