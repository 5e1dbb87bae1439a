"""QC's lot.exceptionally-released (an out-of-specification lot released by QA at the
treating physician's request) is a release for custody: the lot's bags are thawed, also
after QA had rejected the lot's release; the rejection stays in the lot's history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from v2v_custody.domain.events import LotDisposition
from v2v_custody.domain.lot_release import LotRelease
from v2v_events.contracts.common import Actor
from v2v_events.contracts.exceptional_release import LotExceptionallyReleased, Region
from v2v_runtime.inbox import Outcome

from .support import START, Custody, assert_problem


def exceptionally_released(coi: str, lot_id: str) -> LotExceptionallyReleased:
    return LotExceptionallyReleased(
        coi=coi,
        lot_id=lot_id,
        panel_id=f"panel-{lot_id}",
        decision_ref=f"XR-{lot_id}",
        region=Region.EU,
        site="manufacturing-site-1",
        decided_at=START - timedelta(hours=1),
        actor=Actor(user_id="u-qa", role="qa-reviewer"),
    )


@pytest.mark.requirement("EU-PartIV.11.5")
async def test_an_exceptionally_released_lot_is_thawed_even_after_a_rejection(
    custody: Custody,
) -> None:
    coi = await custody.enroll()
    lot_id = await custody.final_product_at_treatment_center(coi, ["BAG-1"], released=False)
    await custody.reject_release(coi, lot_id)
    url = f"/patients/{coi}/units/BAG-1/thaw"
    body = {"thaw_started_at": custody.clock.current.isoformat()}
    assert_problem(await custody.unsigned(url, body), 409)
    message = exceptionally_released(coi, lot_id)
    for message_id in ("xr-1", "xr-2"):  # published again: no news
        assert await custody.harness.deliver(message, subject=coi, id=message_id) in (
            Outcome.PROCESSED,
            Outcome.DUPLICATE,
        )
    unit = (await custody.get("/units/BAG-1")).json()
    assert unit["lot_disposition"] == "released"
    async with custody.harness.kit.uow() as uow:
        release = await uow.repository(LotRelease).get(LotRelease.stream_id(lot_id))
    assert (release.disposition, release.version) == (LotDisposition.RELEASED, 2)
    assert (await custody.thaw(coi, "BAG-1")).status_code == 201
    # another patient's lot of that id: refused (dead letter)
    other = await custody.enroll()
    wrong = await custody.harness.deliver(exceptionally_released(other, lot_id), subject=other)
    assert wrong is Outcome.DEAD_LETTERED
