"""Through HTTP: consuming material lots at a step of an open batch — the gate (refused
scans: 422 naming the reason, kept in the batch's record, not a deviation), the drawdown,
and the genealogy both ways (a batch's lots; a lot's batches and CoIs for a recall)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from v2v_batch.adapters.db.material_tables import MATERIAL_TABLES
from v2v_batch.adapters.http.refusals import keeping_refusals
from v2v_batch.application.consume_material import MaterialLots
from v2v_batch.application.refusals import RecordedRefusal
from v2v_batch.domain import STEP_ORDER, Batch, Step
from v2v_batch.domain.batch_materials import MaterialUse
from v2v_events.contracts.batch import BatchOpened, MaterialLotRejected
from v2v_events.contracts.common import Actor
from v2v_runtime.testing import ServiceHarness, as_user

from .materials import (
    BAGS,
    BEADS,
    HANDLER,
    QA,
    VECTOR,
    clock_of,
    now,
    receive,
    reject,
    released_lot,
)
from .support import (
    COI,
    OPERATOR,
    OPERATOR_ID,
    OTHER_COI,
    SITE,
    assert_problem,
    collection,
    open_batch,
    open_cmd,
    post_step,
    produce_lot,
    record_steps,
    step_body,
    verify,
)

AUDITOR = as_user("u-mat-auditor", "auditor")
PARIS_QA = as_user("u-mat-paris-qa2", "qa-reviewer", sites=["SITE-PARIS-1"])


def scan(
    lot: dict[str, Any], quantity: float = 2.5, unit: str = "mL", **over: Any
) -> dict[str, Any]:
    return {
        "material_code": lot["material_code"],
        "lot_id": lot["lot_id"],
        "quantity": quantity,
        "unit": unit,
    } | over


async def use(
    client: httpx.AsyncClient, batch_id: str, step: Step, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        f"/batches/{batch_id}/steps/{step.value}/materials", json=body, headers=OPERATOR
    )


async def at_transduction(harness: ServiceHarness, client: httpx.AsyncClient) -> str:
    """A batch whose next step is transduction (selection and activation recorded)."""
    batch_id = await open_batch(harness)
    await record_steps(client, batch_id, Step.ACTIVATION)
    return batch_id


async def materials_of(client: httpx.AsyncClient, batch_id: str) -> dict[str, Any]:
    r = await client.get(f"/batches/{batch_id}/materials", headers=QA)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def lot_of(client: httpx.AsyncClient, lot_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"/material-lots/{lot_id}", headers=QA)).json()
    return body


@pytest.mark.requirement("EU-PartIV.6.4", "EU-PartIV.6.7")
async def test_a_released_lot_is_consumed_and_drawn_down(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    vector = await released_lot(harness, client, VECTOR)
    batch_id = await at_transduction(harness, client)
    r = await use(client, batch_id, Step.TRANSDUCTION, scan(vector))
    assert r.status_code == 201, r.text
    used = r.json()
    assert (used["batch_id"], used["coi"], used["step"], used["site"]) == (
        batch_id,
        COI,
        "transduction",
        SITE,
    )
    assert used["used_by"] == {"user_id": OPERATOR_ID, "role": "cell-therapy-specialist"}
    r = await use(client, batch_id, Step.TRANSDUCTION, scan(vector, 500, "uL"))
    assert r.status_code == 201, r.text
    assert (r.json()["lot_quantity"], r.json()["lot_unit"]) == (0.5, "mL")
    assert (await lot_of(client, vector["lot_id"]))["remaining_quantity"] == 7.0
    record = await materials_of(client, batch_id)
    assert [(c["lot_id"], c["quantity"], c["unit"]) for c in record["consumed"]] == [
        (vector["lot_id"], 2.5, "mL"),
        (vector["lot_id"], 500, "uL"),
    ]
    assert record["refused_scans"] == [] and record["coi"] == COI


@pytest.mark.requirement("EU-PartIV.7", "EU-PartIV.9")
async def test_each_refused_scan_names_its_reason_and_is_kept_not_a_deviation(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    clock = clock_of(harness)
    soon = (clock.current + timedelta(days=1)).isoformat()
    vector = await released_lot(harness, client, VECTOR)
    beads = await receive(harness, client, BEADS)  # quarantine
    expiring = await released_lot(harness, client, VECTOR, supplier_lot="LV-OLD", expires_at=soon)
    rejected = await released_lot(harness, client, VECTOR, supplier_lot="LV-BAD")
    assert (await reject(client, rejected["lot_id"])).status_code == 200
    paris = await released_lot(harness, client, VECTOR, supplier_lot="LV-PAR", site="SITE-PARIS-1")
    batch_id = await at_transduction(harness, client)
    before = {env.type for _, env in await harness.outbox()}
    clock.advance(timedelta(days=2))  # the expiring lot expires: nobody records anything

    cases = [
        (scan(beads), "material-lot-quarantine", "lot_id"),
        (scan(rejected), "material-lot-rejected", "lot_id"),
        (scan(expiring), "material-lot-expired", "lot_id"),
        (scan(vector, material_code="RGT-CD3CD28"), "wrong-material", "lot_id"),
        (scan(vector, 10.5), "material-lot-insufficient", "quantity"),
        (scan(vector, lot_id="LOT-NEVER-RECEIVED"), "material-lot-unknown", "lot_id"),
        (scan(paris), "material-lot-at-another-site", "lot_id"),
    ]
    for body, code, field in cases:
        problem = assert_problem(await use(client, batch_id, Step.TRANSDUCTION, body), 422, code)
        assert (problem["field"], problem["lot_id"]) == (field, body["lot_id"]), problem

    record = await materials_of(client, batch_id)
    assert record["consumed"] == []
    assert [(s["code"], s["field"], s["step"]) for s in record["refused_scans"]] == [
        (code, field, "transduction") for _, code, field in cases
    ]
    assert record["refused_scans"][0]["scanned_by"]["user_id"] == OPERATOR_ID
    assert (await lot_of(client, vector["lot_id"]))["remaining_quantity"] == 10
    # the control working: the batch record has no flag, nothing went to QC
    batch = (await client.get(f"/batches/{batch_id}", headers=QA)).json()
    assert all(not s["flags"] for s in batch["steps"])
    published = {env.type for _, env in await harness.outbox()}
    assert not any("deviation" in t or "material" in t for t in published - before)


async def test_bad_input_is_refused_without_a_refused_scan(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    vector = await released_lot(harness, client, VECTOR)
    bags = await released_lot(harness, client, BAGS)
    batch_id = await at_transduction(harness, client)
    r = await use(client, batch_id, Step.TRANSDUCTION, scan(vector, 1, "vial"))
    assert assert_problem(r, 422, "unit-incompatible")["field"] == "unit"
    r = await use(client, batch_id, Step.TRANSDUCTION, scan(vector, 1, "litre"))
    assert assert_problem(r, 422, "unit-unknown")["field"] == "unit"
    assert_problem(await use(client, batch_id, Step.TRANSDUCTION, scan(bags, 0, "each")), 422)
    # steps: the one being performed only
    r = await use(client, batch_id, Step.ACTIVATION, scan(vector))
    assert_problem(r, 409, "step-already-recorded")
    r = await use(client, batch_id, Step.HARVEST, scan(vector))
    assert assert_problem(r, 409, "step-out-of-order")["expected_step"] == "transduction"
    r = await use(client, "no-such-batch", Step.SELECTION, scan(vector))
    assert_problem(r, 404, "batch-not-found")
    assert (await materials_of(client, batch_id))["refused_scans"] == []
    r = await client.post(
        f"/batches/{batch_id}/steps/transduction/materials", json=scan(vector), headers=HANDLER
    )
    assert_problem(r, 403, "role-not-allowed")


async def test_a_batch_whose_lot_is_produced_consumes_nothing(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    vector = await released_lot(harness, client, VECTOR)
    batch_id = await open_batch(harness)
    await record_steps(client, batch_id)
    await produce_lot(client, batch_id)
    r = await use(client, batch_id, Step.CRYOPRESERVATION, scan(vector))
    assert_problem(r, 409, "lot-already-produced")


async def record_from(client: httpx.AsyncClient, batch_id: str, start: Step) -> None:
    """Record (and verify where needed) every step from ``start`` to cryopreservation."""
    for step in STEP_ORDER[STEP_ORDER.index(start) :]:
        r = await post_step(client, batch_id, step_body(step))
        assert r.status_code == 201, r.text
        if r.json()["verification_required"]:
            assert (await verify(client, batch_id, step)).status_code == 201


async def other_coi_batch(harness: ServiceHarness) -> str:
    await harness.deliver(collection("APH-0002", OTHER_COI), subject=OTHER_COI)
    await harness.deliver(open_cmd(1, "APH-0002", OTHER_COI), subject=OTHER_COI)
    return (await harness.published(BatchOpened))[-1].batch_id


@pytest.mark.requirement("EU-PartIV.6.7", "EU-PartIV.14.2")
async def test_the_recall_query_names_every_batch_and_coi_of_a_vector_lot(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    vector = await released_lot(harness, client, VECTOR)
    other_vector = await released_lot(harness, client, VECTOR, supplier_lot="LV26-0200")
    beads = await released_lot(harness, client, BEADS, supplier_lot="B-1")
    first = await open_batch(harness)
    assert (await use(client, first, Step.SELECTION, scan(beads, 1))).status_code == 201
    await record_steps(client, first, Step.ACTIVATION)
    assert (await use(client, first, Step.TRANSDUCTION, scan(vector))).status_code == 201
    await record_from(client, first, Step.TRANSDUCTION)
    product = await produce_lot(client, first)
    second = await other_coi_batch(harness)
    await record_steps(client, second, Step.ACTIVATION)
    assert (await use(client, second, Step.TRANSDUCTION, scan(vector, 3))).status_code == 201
    assert (await use(client, second, Step.TRANSDUCTION, scan(other_vector, 1))).status_code == 201

    r = await client.get(f"/material-lots/{vector['lot_id']}/genealogy", headers=QA)
    assert r.status_code == 200, r.text
    recall = r.json()
    assert recall["cois"] == sorted([COI, OTHER_COI])
    assert recall["lot"]["lot_id"] == vector["lot_id"]
    assert recall["lot"]["remaining_quantity"] == 4.5
    by_batch = {b["batch_id"]: b for b in recall["batches"]}
    assert set(by_batch) == {first, second}
    assert (by_batch[first]["coi"], by_batch[first]["product_lot_id"]) == (COI, product["lot_id"])
    assert by_batch[second]["product_lot_id"] is None
    assert [c["quantity"] for c in by_batch[second]["consumed"]] == [3]
    # the other way: which lots went into the second batch
    went_in = await materials_of(client, second)
    assert [c["lot_id"] for c in went_in["consumed"]] == [vector["lot_id"], other_vector["lot_id"]]
    assert {c["step"] for c in (await materials_of(client, first))["consumed"]} == {
        "selection",
        "transduction",
    }
    only = await client.get(f"/material-lots/{other_vector['lot_id']}/genealogy", headers=QA)
    assert only.json()["cois"] == [OTHER_COI]
    unused = await released_lot(harness, client, VECTOR, supplier_lot="LV26-0300")
    none = await client.get(f"/material-lots/{unused['lot_id']}/genealogy", headers=QA)
    assert (none.json()["batches"], none.json()["cois"]) == ([], [])
    # another site's reader does not see the lot
    r = await client.get(f"/material-lots/{vector['lot_id']}/genealogy", headers=PARIS_QA)
    assert_problem(r, 404, "material-lot-not-found")


@pytest.mark.requirement("EU-PartIV.6.7", "EU-PartIV.14.2")
async def test_a_lot_rejected_after_use_names_the_batches_that_used_it(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    """A supplier's recall after use: material-lot.rejected carries the genealogy's batches
    (each with its CoI, steps, first and last use) for QC's deviation on them."""
    vector = await released_lot(harness, client, VECTOR)
    unused = await released_lot(harness, client, VECTOR, supplier_lot="LV26-0300")
    first = await at_transduction(harness, client)
    assert (await use(client, first, Step.TRANSDUCTION, scan(vector, 1))).status_code == 201
    assert (await use(client, first, Step.TRANSDUCTION, scan(vector, 2))).status_code == 201
    second = await other_coi_batch(harness)
    await record_steps(client, second, Step.ACTIVATION)
    assert (await use(client, second, Step.TRANSDUCTION, scan(vector, 3))).status_code == 201

    assert (await reject(client, vector["lot_id"], "supplier recall R-78")).status_code == 200
    [recalled] = await harness.published(MaterialLotRejected)
    assert recalled.batch_count == 2
    assert [(b.batch_id, b.coi, b.steps) for b in recalled.batches] == [
        (first, COI, ["transduction"]),
        (second, OTHER_COI, ["transduction"]),
    ]
    assert recalled.batches[0].first_used_at <= recalled.batches[1].first_used_at
    # a lot no batch used names none (QC opens no deviation for it)
    assert (await reject(client, unused["lot_id"])).status_code == 200
    never_used = (await harness.published(MaterialLotRejected))[-1]
    assert (never_used.lot_id, never_used.batch_count, never_used.batches) == (
        unused["lot_id"],
        0,
        [],
    )


async def test_consumption_is_part_of_the_cois_audit_trail(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    vector = await released_lot(harness, client, VECTOR)
    batch_id = await at_transduction(harness, client)
    assert (await use(client, batch_id, Step.TRANSDUCTION, scan(vector))).status_code == 201
    await use(client, batch_id, Step.TRANSDUCTION, scan(vector, 99))
    r = await client.get("/audit-trail", params={"coi": COI}, headers=AUDITOR)
    assert r.status_code == 200, r.text
    assert r.json()["verification"]["status"] == "ok"
    kinds = [e["event_type"] for e in r.json()["entries"] if e["record"] == f"batchmat-{batch_id}"]
    assert kinds == ["batch.material-consumed", "batch.material-scan-refused"]
    r = await client.get(
        "/audit-trail", params={"record": f"matlot-{vector['lot_id']}"}, headers=AUDITOR
    )
    assert [e["event_type"] for e in r.json()["entries"]][-1] == "batch.material-lot-consumed"


async def test_rebuild_restores_the_material_read_models(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    vector = await released_lot(harness, client, VECTOR)
    await receive(harness, client, BEADS)
    rejected = await released_lot(harness, client, VECTOR, supplier_lot="LV-BAD")
    await reject(client, rejected["lot_id"])
    batch_id = await at_transduction(harness, client)
    await use(client, batch_id, Step.TRANSDUCTION, scan(vector))
    await use(client, batch_id, Step.TRANSDUCTION, scan(rejected))

    async def snapshot() -> dict[str, list[tuple[Any, ...]]]:
        async with harness.kit.uow() as uow:
            return {
                t.name: sorted((tuple(r) for r in await uow.session.execute(select(t))), key=repr)
                for t in MATERIAL_TABLES
            }

    before = await snapshot()
    assert all(before.values()), "every material table has rows"
    genealogy = (
        await client.get(f"/material-lots/{vector['lot_id']}/genealogy", headers=QA)
    ).json()
    await harness.kit.rebuild()
    assert await snapshot() == before
    again = await client.get(f"/material-lots/{vector['lot_id']}/genealogy", headers=QA)
    assert again.json() == genealogy


async def test_the_port_checks_a_steps_scans_together_and_keeps_a_refusal(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    """As step execution uses it: every scan of a step checked before signing (one lot's
    quantities add up), the refusal kept once the act rolled back; then consumed under the
    step's own name."""
    vector = await released_lot(harness, client, VECTOR)
    batch_id = await open_batch(harness)
    uses = [MaterialUse("LV-CD19-01", vector["lot_id"], 6, "mL")] * 2
    by = Actor(user_id=OPERATOR_ID, role="cell-therapy-specialist")

    async def before_signing() -> None:
        uow = harness.kit.uow()
        async with keeping_refusals(uow), uow:
            batch = await uow.repository(Batch).get(batch_id)
            await MaterialLots(uow).check_scans(batch, "transduce-1", uses, by)

    with pytest.raises(RecordedRefusal) as caught:
        await before_signing()
    assert (caught.value.code, caught.value.extra["remaining"]) == ("material-lot-insufficient", 4)
    [kept] = (await materials_of(client, batch_id))["refused_scans"]
    assert (kept["step"], kept["quantity"], kept["code"]) == (
        "transduce-1",
        6,
        "material-lot-insufficient",
    )
    async with harness.kit.uow() as uow:
        batch = await uow.repository(Batch).get(batch_id)
        lots = MaterialLots(uow)
        await lots.check_scans(batch, "transduce-1", uses[:1], by)
        assert await lots.check_use(
            "LV-CD19-01", vector["lot_id"], 6, "mL", now(harness), site=SITE
        )
        await lots.consume(batch, "transduce-1", uses[0], by)
    record = await materials_of(client, batch_id)
    assert [(c["step"], c["lot_quantity"]) for c in record["consumed"]] == [("transduce-1", 6)]
    assert (await lot_of(client, vector["lot_id"]))["remaining_quantity"] == 4
