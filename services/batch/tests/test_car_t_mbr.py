"""The seeded autologous lentiviral CAR-T MBR, end to end in one process as deployed: loaded
as a draft, reviewed, approved by QA (signed), made effective; the site's registers set up
(lots released, instruments in service, people trained and qualified); a batch of the
product executed from it step by step through the registers' gates (every value within
limits, the released lots and calibrated instruments scanned, the critical steps verified by
a second person), its lot produced, its record reviewed, and the recall query of its vector
lot naming it."""

from __future__ import annotations

import httpx
import pytest

from v2v_runtime.testing import ServiceHarness, signed

from .materials import QA as TRAINER
from .mbr_support import QA, effective_seed, open_mbr_batch, seed_entry
from .site_registers import SUPERVISOR, set_up, train
from .support import COI, LOT, OPERATOR, OPERATOR_ID, VERIFIER_ID


@pytest.mark.requirement("EU-PartIV.6.4", "EU-PartIV.9")
async def test_a_car_t_batch_is_executed_from_its_effective_mbr(
    site: ServiceHarness, site_client: httpx.AsyncClient
) -> None:
    harness, client = site, site_client
    seed = await effective_seed(client, harness, "S2CART")
    registers = await set_up(harness, client, seed.content)
    await train(harness, client, seed.content, OPERATOR_ID, SUPERVISOR)
    await train(harness, client, seed.content, VERIFIER_ID, TRAINER)
    batch_id = await open_mbr_batch(client, harness, product="S2CART")
    for step in seed.content.steps:
        body = seed_entry(harness, step) | registers.used(seed.content, step.step_id)
        r = await signed(client, f"/batches/{batch_id}/steps/{step.step_id}", body)
        assert r.status_code == 201, (step.step_id, r.text)
        if step.verified:
            url = f"/batches/{batch_id}/steps/{step.step_id}/verification"
            r = await signed(client, url, {}, OPERATOR, signer=VERIFIER_ID)  # on one tablet
            assert r.status_code == 201, r.text
    record = (await client.get(f"/batches/{batch_id}")).json()
    execution = record["execution"]
    assert execution["mbr"]["product_code"] == "S2CART" and execution["next_step"] is None
    assert all(s["status"] in ("performed", "verified") for s in execution["steps"])
    assert execution["exceptions"] == []
    assert record["steps_done"] == [s.step_id for s in seed.content.steps]
    transduction = next(s for s in execution["steps"] if s["step_id"] == "transduction")
    vector = registers.lots["LV-CD19-CAR"]
    assert transduction["materials"][0]["lot_id"] == vector
    assert transduction["status"] == "verified"
    recall = (await client.get(f"/material-lots/{vector}/genealogy")).json()
    assert [(b["batch_id"], b["coi"]) for b in recall["batches"]] == [(batch_id, COI)]
    lot = await client.post(f"/batches/{batch_id}/lot", json=LOT)
    assert lot.status_code == 201, lot.text
    r = await signed(client, f"/batches/{batch_id}/review", {}, QA)
    assert r.status_code == 201, r.text
    assert r.json()["exceptions"] == [] and r.json()["review"] is not None
