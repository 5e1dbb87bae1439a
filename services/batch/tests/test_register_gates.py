"""An MBR step in the deployed service goes through the registers (RegisterGates): a lot in
quarantine, an instrument overdue for calibration or a person not trained or qualified for
the step is refused — the scan and the use kept by their register although the step is not
recorded — and a step performed draws its lots down into the batch's genealogy and enters
each instrument's usage log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from v2v_batch.domain.mbr_content import MbrContent
from v2v_events.contracts.common import Actor
from v2v_events.contracts.holds import HoldItemKind, HoldPlaced, HoldReleased
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness

from .materials import QA as TRAINER  # QA records the supervisor's training
from .mbr_support import CONTENT, effective_mbr, open_mbr_batch, perform, perform_body
from .site_registers import (
    SUPERVISOR,
    SiteRegisters,
    qualify,
    receive_lot,
    register_instrument,
    set_up,
    train,
)
from .support import OPERATOR_ID, T0, VERIFIER_ID, assert_problem, verify


def gated_content() -> dict[str, Any]:
    """The test MBR, its selection asking for the aseptic-processing qualification."""
    content: dict[str, Any] = {**CONTENT, "operations": [dict(o) for o in CONTENT["operations"]]}
    prep = content["operations"][0]
    prep["steps"] = [dict(s) for s in prep["steps"]]
    prep["steps"][1]["qualification"] = "aseptic-processing"
    return content


async def site_batch(
    site: ServiceHarness, client: httpx.AsyncClient, *, skip: frozenset[str] = frozenset()
) -> tuple[str, MbrContent, SiteRegisters]:
    """The gated MBR effective, the registers set up, the operator and verifier trained (the
    operator without ``skip``), a batch opened and its receipt performed."""
    body = gated_content()
    await effective_mbr(site, client, body)
    content = MbrContent.model_validate(body)
    registers = await set_up(site, client, content)
    await train(site, client, content, OPERATOR_ID, SUPERVISOR, skip=skip)
    await train(site, client, content, VERIFIER_ID, TRAINER)
    batch_id = await open_mbr_batch(client, site)
    r = await perform(client, site, batch_id, "receipt")
    assert r.status_code == 201, r.text
    return batch_id, content, registers


async def perform_selection(
    site: ServiceHarness,
    client: httpx.AsyncClient,
    batch_id: str,
    used: dict[str, Any],
) -> httpx.Response:
    return await perform(client, site, batch_id, "selection", **used)


@pytest.mark.requirement("EU-PartIV.7", "EU-PartIV.6.4")
async def test_a_lot_in_quarantine_is_refused_before_signing_and_the_scan_is_kept(
    site: ServiceHarness, site_client: httpx.AsyncClient
) -> None:
    client = site_client
    batch_id, content, registers = await site_batch(site, client)
    quarantined = await receive_lot(site, client, "CD4-BEADS", "vial", 5)
    used = registers.used(content, "selection")
    used["materials"][0]["lot_id"] = quarantined
    body = perform_body(site, "selection", **used)
    # refused before anyone is asked to sign: no 428
    r = await client.post(f"/batches/{batch_id}/steps/selection", json=body)
    problem = assert_problem(r, 422, "material-lot-quarantine")
    assert problem["lot_id"] == quarantined
    materials = (await client.get(f"/batches/{batch_id}/materials")).json()
    assert [(s["lot_id"], s["code"]) for s in materials["refused_scans"]] == [
        (quarantined, "material-lot-quarantine")
    ]
    assert (await client.get(f"/batches/{batch_id}")).json()["execution"]["next_step"] == (
        "selection"
    )
    # the released lot is used: drawn down, in the genealogy both ways
    r = await perform_selection(site, client, batch_id, registers.used(content, "selection"))
    assert r.status_code == 201, r.text
    lot = (await client.get(f"/material-lots/{registers.lots['CD4-BEADS']}")).json()
    assert lot["remaining_quantity"] == 1  # two received, one used
    materials = (await client.get(f"/batches/{batch_id}/materials")).json()
    assert [(c["step"], c["lot_id"]) for c in materials["consumed"]] == [
        ("selection", registers.lots["CD4-BEADS"])
    ]
    genealogy = (await client.get(f"/material-lots/{registers.lots['CD4-BEADS']}/genealogy")).json()
    assert [b["batch_id"] for b in genealogy["batches"]] == [batch_id]


def hold(placed: bool, lot_id: str) -> HoldPlaced | HoldReleased:
    what: dict[str, Any] = {
        "hold_id": f"H-DEV-9-material-lot-{lot_id}",
        "item_kind": HoldItemKind.MATERIAL_LOT,
        "item_id": lot_id,
        "deviation_id": "DEV-9",
    }
    qa = Actor(user_id="u-qa", role="qa-reviewer")
    if placed:
        return HoldPlaced(**what, reason="supplier recall", placed_at=T0, placed_by=qa)
    return HoldReleased(**what, reason="recall withdrawn", released_at=T0, released_by=qa)


@pytest.mark.requirement("EU-PartIV.11.4")
async def test_a_lot_qc_holds_is_refused_at_the_scan_until_qa_releases_the_hold(
    site: ServiceHarness, site_client: httpx.AsyncClient
) -> None:
    client = site_client
    batch_id, content, registers = await site_batch(site, client)
    lot_id = registers.lots["CD4-BEADS"]
    placed = hold(True, lot_id)
    assert await site.deliver(placed, subject=lot_id) is Outcome.PROCESSED
    assert await site.deliver(placed, subject=lot_id) is Outcome.PROCESSED  # again: no change
    body = perform_body(site, "selection", **registers.used(content, "selection"))
    r = await client.post(f"/batches/{batch_id}/steps/selection", json=body)
    problem = assert_problem(r, 422, "material-lot-held")
    assert (problem["lot_id"], problem["hold_ids"], problem["deviation_ids"]) == (
        lot_id,
        [placed.hold_id],
        ["DEV-9"],
    )
    materials = (await client.get(f"/batches/{batch_id}/materials")).json()
    assert [(s["lot_id"], s["code"]) for s in materials["refused_scans"]] == [
        (lot_id, "material-lot-held")
    ]
    assert materials["consumed"] == []
    # QA's signed release in QC, over Kafka: the lot is used
    assert await site.deliver(hold(False, lot_id), subject=lot_id) is Outcome.PROCESSED
    r = await perform_selection(site, client, batch_id, registers.used(content, "selection"))
    assert r.status_code == 201, r.text


@pytest.mark.requirement("EU-PartIV.5")
async def test_an_instrument_overdue_for_calibration_is_refused_and_its_log_keeps_it(
    site: ServiceHarness, site_client: httpx.AsyncClient
) -> None:
    client = site_client
    batch_id, content, registers = await site_batch(site, client)
    # another cell selection system, its calibration due in 5 minutes: the step (from 10
    # minutes on, for an hour) would use it after that
    overdue = "SEL-OVERDUE"
    await register_instrument(
        site, client, "cell-selection-system", overdue, calibration_due=timedelta(minutes=5)
    )
    used = registers.used(content, "selection")
    used["equipment"][0]["equipment_id"] = overdue
    r = await client.post(
        f"/batches/{batch_id}/steps/selection", json=perform_body(site, "selection", **used)
    )
    assert_problem(r, 422, "calibration-overdue")  # before anyone signs: no 428
    usage = (await client.get(f"/equipment/{overdue}/usage")).json()
    assert [(u["batch_id"], u["refusal"]["code"]) for u in usage] == [
        (batch_id, "calibration-overdue")
    ]
    # the calibrated one is used, and its usage log says so
    r = await perform_selection(site, client, batch_id, registers.used(content, "selection"))
    assert r.status_code == 201, r.text
    usage = (
        await client.get(f"/equipment/{registers.instruments['cell-selection-system']}/usage")
    ).json()
    assert [(u["batch_id"], u["step"], u["refusal"]) for u in usage] == [
        (batch_id, "selection", None)
    ]


@pytest.mark.requirement("EU-PartIV.3")
async def test_a_performer_without_the_steps_qualification_is_refused_once_signed(
    site: ServiceHarness, site_client: httpx.AsyncClient
) -> None:
    client = site_client
    batch_id, content, registers = await site_batch(
        site, client, skip=frozenset({"aseptic-processing"})
    )
    r = await perform_selection(site, client, batch_id, registers.used(content, "selection"))
    problem = assert_problem(r, 403, "not-qualified")
    assert (problem["user_id"], problem["qualification"]) == (OPERATOR_ID, "aseptic-processing")
    assert (await client.get(f"/batches/{batch_id}")).json()["execution"]["next_step"] == (
        "selection"
    )
    lot = (await client.get(f"/material-lots/{registers.lots['CD4-BEADS']}")).json()
    assert lot["remaining_quantity"] == 2  # nothing consumed
    await qualify(site, client, OPERATOR_ID, "aseptic-processing", SUPERVISOR)
    r = await perform_selection(site, client, batch_id, registers.used(content, "selection"))
    assert r.status_code == 201, r.text


@pytest.mark.requirement("EU-PartIV.3")
async def test_a_verifier_untrained_on_the_steps_sop_is_refused(
    site: ServiceHarness, site_client: httpx.AsyncClient
) -> None:
    client = site_client
    body = gated_content()
    await effective_mbr(site, client, body)
    content = MbrContent.model_validate(body)
    registers = await set_up(site, client, content)
    await train(site, client, content, OPERATOR_ID, SUPERVISOR)
    batch_id = await open_mbr_batch(client, site)
    for step_id in ("receipt", "selection", "harvest"):
        r = await perform(client, site, batch_id, step_id, **registers.used(content, step_id))
        assert r.status_code == 201, r.text
    r = await verify(client, batch_id, "harvest")
    problem = assert_problem(r, 403, "not-qualified")
    assert problem["user_id"] == VERIFIER_ID and problem["qualification"].startswith("sop:")
    await train(site, client, content, VERIFIER_ID, TRAINER)
    assert (await verify(client, batch_id, "harvest")).status_code == 201
