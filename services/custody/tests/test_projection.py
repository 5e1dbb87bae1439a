"""Read models are a pure function of the event store: a rebuild reproduces them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select, update

from v2v_custody.adapters.db.tables import (
    READ_MODELS,
    lots,
    patient_identity,
    receipts,
    thaws,
    transfers,
    units,
)
from v2v_events.contracts.custody import RejectUnit
from v2v_runtime.db.tables import signatures
from v2v_runtime.testing import ServiceHarness

from .support import ACTOR, APHERESIS, SITE, Custody


async def snapshot(harness: ServiceHarness) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    async with harness.kit.sessions() as s:
        for table in (*READ_MODELS, patient_identity, signatures):
            pk = list(table.primary_key.columns)
            rows = await s.execute(select(table).order_by(*pk))
            out[table.name] = [r._asdict() for r in rows]
    return out


async def a_busy_day(custody: Custody) -> str:
    coi = await custody.enroll()
    other = await custody.enroll()
    unit = await custody.collect(coi)
    await custody.collect(other)
    await custody.post(
        "/transfers",
        {
            "unit_id": unit["unit_id"],
            "from_party": APHERESIS,
            "to_party": "courier-1",
            "location": APHERESIS,
            "temperature_c": 4.5,
        },
    )
    await custody.receive(unit["unit_id"], other, location=SITE)  # refused: wrong CoI
    await custody.receive("bag-unknown", coi, location=SITE)  # refused: unknown unit
    await custody.receive(
        unit["unit_id"],
        coi,
        scanned_din=unit["din"],
        location=SITE,
        location_kind="manufacturing-site",
    )
    await custody.final_product_at_treatment_center(coi, ["BAG-1", "BAG-2"])
    await custody.harness.deliver(
        RejectUnit(coi=coi, unit_id="BAG-2", reason="bag damaged", actor=ACTOR), subject=coi
    )
    assert (await custody.thaw(coi, "BAG-2")).status_code == 409  # refused: rejected, kept
    thawed = await custody.thawed(coi, ["BAG-1"])
    r = await custody.post(
        f"/patients/{coi}/infusions", {"unit_ids": ["BAG-1"], "infused_at": thawed.isoformat()}
    )
    assert r.status_code == 201, r.text
    return coi


@pytest.mark.requirement("21CFR11.10(c)")
async def test_rebuild_reproduces_the_read_models(custody: Custody) -> None:
    await a_busy_day(custody)
    before = await snapshot(custody.harness)
    assert all(before[t.name] for t in READ_MODELS), {k: len(v) for k, v in before.items()}
    assert {r["outcome"] for r in before["custody_receipts"]} == {"accepted", "refused"}
    assert {r["outcome"] for r in before["custody_thaws"]} == {"thawed", "refused"}
    # handoffs (2 parties), receipts, the thaw and the infusion are signed; their views too
    assert len(before["v2v_signatures"]) == 3 * 2 + 3 + 1 + 1

    # Damage the read models, then rebuild them from the event store.
    async with custody.harness.kit.uow() as uow:
        await uow.session.execute(delete(transfers))
        await uow.session.execute(delete(signatures))
        await uow.session.execute(delete(receipts).where(receipts.c.outcome == "refused"))
        await uow.session.execute(delete(thaws))
        await uow.session.execute(delete(lots))
        await uow.session.execute(update(units).values(status="in-transit", custodian="??"))
    assert await snapshot(custody.harness) != before

    replayed = await custody.harness.kit.rebuild()
    assert replayed > 0
    after = await snapshot(custody.harness)
    assert after == before
    # The identity table is a projection of the identity streams too.
    assert after["patient_identity"] == before["patient_identity"]
    assert len(after["patient_identity"]) == 2
