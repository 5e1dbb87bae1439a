"""The seeded autologous lentiviral CAR-T MBR, end to end in one process: loaded as a draft,
reviewed, approved by QA (signed), made effective; a batch of the product executed from it
step by step (every value within limits, materials and instruments scanned, the critical
steps verified by a second person), its lot produced and its record reviewed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from v2v_batch.application.load_mbrs import SEEDS, load_seed, read_seed
from v2v_batch.domain.mbr_content import MbrStep, Parameter, ParameterType
from v2v_runtime.testing import ServiceHarness, signed

from .mbr_support import AUTHOR, QA, open_mbr_batch, perform_body, version_url
from .support import LOT, OPERATOR, SITE, VERIFIER_ID


def good_value(p: Parameter) -> dict[str, Any]:
    """A value within the parameter's limits."""
    value: Any
    match p.type:
        case ParameterType.BOOLEAN:
            value = True
        case ParameterType.CHOICE:
            value = p.choices[0]
        case ParameterType.TEXT:
            value = "LN2-02 rack 3 box 7"
        case _:
            lo, hi = p.lower_limit, p.upper_limit
            if p.target is not None:
                value = p.target
            elif lo is not None and hi is not None:
                value = (lo + hi) / 2
            elif lo is not None:
                value = lo * 2 if lo > 0 else lo + 1
            else:
                assert hi is not None
                value = hi - 10 if hi <= 0 else hi / 2
            if p.type is ParameterType.INTEGER:
                value = int(value)
    return {"value": value, **({"unit": p.unit} if p.unit else {})}


def entry(harness: ServiceHarness, step: MbrStep) -> dict[str, Any]:
    return perform_body(
        harness,
        step.step_id,
        {p.name: good_value(p) for p in step.parameters},
        room="GRADE-B-SUITE-2",
        materials=[
            {
                "material_code": m.material_code,
                "lot_id": f"LOT-{m.material_code}",
                "quantity": m.quantity,
                "unit": m.unit,
            }
            for m in step.materials
        ],
        equipment=[{"equipment_id": f"EQ-{t}", "equipment_type": t} for t in step.equipment_types],
    )


@pytest.mark.requirement("EU-PartIV.6.4", "EU-PartIV.9")
async def test_a_car_t_batch_is_executed_from_its_effective_mbr(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    seed = read_seed(next(SEEDS.glob("S2CART*.json")))
    async with harness.kit.uow() as uow:
        await load_seed(uow, seed, SITE)
    url = version_url(1, "S2CART")
    assert (await client.post(f"{url}/submission", json={}, headers=AUTHOR)).status_code == 200
    assert (await signed(client, f"{url}/approval", {}, QA)).status_code == 200
    assert (await client.post(f"{url}/effective", json={}, headers=QA)).status_code == 200

    batch_id = await open_mbr_batch(client, harness, product="S2CART")
    for step in seed.content.steps:
        r = await signed(client, f"/batches/{batch_id}/steps/{step.step_id}", entry(harness, step))
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
    assert transduction["materials"][0]["lot_id"] == "LOT-LV-CD19-CAR"
    assert transduction["status"] == "verified"
    lot = await client.post(f"/batches/{batch_id}/lot", json=LOT)
    assert lot.status_code == 201, lot.text
    r = await signed(client, f"/batches/{batch_id}/review", {}, QA)
    assert r.status_code == 201, r.text
    assert r.json()["exceptions"] == [] and r.json()["review"] is not None
