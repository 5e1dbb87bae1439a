"""Re-manufacture from retained apheresis material, tracked per apheresis unit."""

from __future__ import annotations

import httpx
import pytest

from v2v_batch.domain import Step
from v2v_events.contracts.batch import (
    BatchOpened,
    LotProduced,
    MaterialSource,
    Remanufacture,
    RemanufactureRefused,
)
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness

from .support import (
    COI,
    JOURNEY,
    OPERATOR,
    OTHER_COI,
    UNIT,
    assert_problem,
    open_batch,
    post_step,
    produce_lot,
    record_steps,
    step_body,
)


def remanufacture(lot_id: str, attempt: int, coi: str = COI) -> Remanufacture:
    return Remanufacture(coi=coi, previous_lot_id=lot_id, attempt=attempt, actor=JOURNEY)


async def first_lot(harness: ServiceHarness, client: httpx.AsyncClient, retained: int) -> str:
    batch_id = await open_batch(harness)
    await record_steps(client, batch_id, retained_aliquots=retained)
    lot_id: str = (await produce_lot(client, batch_id))["lot_id"]
    return lot_id


@pytest.mark.requirement("EU-PartIV.6.7")
async def test_remanufacture_consumes_one_retained_aliquot(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    lot_id = await first_lot(harness, client, retained=1)
    await harness.deliver(remanufacture(lot_id, 2), subject=COI)

    first, second = await harness.published(BatchOpened)
    assert second.batch_id != first.batch_id
    assert second.source is MaterialSource.RETAINED_APHERESIS
    assert second.attempt == 2
    assert second.apheresis_unit_id == UNIT
    assert second.actor == JOURNEY
    record = (await client.get(f"/batches/{second.batch_id}")).json()
    assert record["previous_lot_id"] == lot_id
    assert record["source"] == "retained-apheresis"
    material = (await client.get(f"/materials/{UNIT}")).json()
    assert (material["retained"], material["consumed"], material["remaining"]) == (1, 1, 0)
    assert [b["attempt"] for b in material["batches"]] == [1, 2]

    # The new batch is made from the retained aliquot: its lot reports nothing left...
    await record_steps(client, second.batch_id)
    lot2 = await produce_lot(client, second.batch_id)
    assert lot2["retained_aliquots_remaining"] == 0
    assert lot2["attempt"] == 2
    assert (await harness.published(LotProduced))[-1].retained_aliquots_remaining == 0
    # ...and a third attempt is refused: a new collection is needed.
    await harness.deliver(remanufacture(lot2["lot_id"], 3), subject=COI)
    [refused] = await harness.published(RemanufactureRefused)
    assert refused.reason == "no retained apheresis material remains"
    assert refused.attempt == 3
    assert refused.previous_lot_id == lot2["lot_id"]
    assert len(await harness.published(BatchOpened)) == 2


async def test_remanufacture_without_retained_material_is_refused(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    lot_id = await first_lot(harness, client, retained=0)
    assert (await harness.published(LotProduced))[0].retained_aliquots_remaining == 0
    await harness.deliver(remanufacture(lot_id, 2), subject=COI)
    [refused] = await harness.published(RemanufactureRefused)
    assert (refused.coi, refused.attempt) == (COI, 2)
    assert len(await harness.published(BatchOpened)) == 1
    assert (await client.get(f"/materials/{UNIT}")).json()["remaining"] == 0


async def test_remanufacture_is_idempotent_per_attempt(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    lot_id = await first_lot(harness, client, retained=2)
    await harness.deliver(remanufacture(lot_id, 2), subject=COI, id="re-1")
    await harness.deliver(remanufacture(lot_id, 2), subject=COI, id="re-2")
    _, second, again = await harness.published(BatchOpened)
    assert again.batch_id == second.batch_id
    assert (await client.get(f"/materials/{UNIT}")).json()["remaining"] == 1


async def test_remanufacture_checks_the_lot_and_attempt(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    batch_id = await open_batch(harness, attempt=3)  # e.g. after a new collection
    await record_steps(client, batch_id, retained_aliquots=1)
    lot_id = (await produce_lot(client, batch_id))["lot_id"]
    for cmd, subject in (
        (remanufacture("no-such-lot", 4), COI),
        (remanufacture(lot_id, 4, coi=OTHER_COI), OTHER_COI),
        (remanufacture(lot_id, 2), COI),  # not after the previous lot's attempt
    ):
        assert await harness.deliver(cmd, subject=subject) is Outcome.DEAD_LETTERED
    assert len(await harness.published(BatchOpened)) == 1
    assert await harness.published(RemanufactureRefused) == []
    assert (await client.get(f"/materials/{UNIT}")).json()["remaining"] == 1
    await harness.deliver(remanufacture(lot_id, 4), subject=COI)
    assert (await harness.published(BatchOpened))[-1].attempt == 4


async def test_a_batch_from_retained_material_retains_nothing(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    lot_id = await first_lot(harness, client, retained=3)
    await harness.deliver(remanufacture(lot_id, 2), subject=COI)
    batch_id = (await harness.published(BatchOpened))[-1].batch_id
    r = await client.post(
        f"/batches/{batch_id}/steps",
        json=step_body(Step.SELECTION, retained_aliquots=1),
        headers=OPERATOR,
    )
    assert_problem(r, 422, "no-retention-from-retained-material")  # before signing
    r = await post_step(client, batch_id, step_body(Step.SELECTION))
    assert r.status_code == 201
    assert r.json()["retained_aliquots"] == 0
    assert (await client.get(f"/materials/{UNIT}")).json()["remaining"] == 2
