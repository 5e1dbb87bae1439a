"""The master batch record on the real stack, through HTTP only: the seeded CAR-T MBR
authored by the site's supervisor, approved by QA with a signature at the real Keycloak and
made effective; a patient's batch of the product executed from it (signed steps, a second
person's verifications); a viability out of limits at harvest raising a deviation in QC
over Kafka; the journey's status showing the batch's progress."""

from __future__ import annotations

import asyncio
import secrets
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from v2v_batch.application.load_mbrs import SEEDS, read_seed
from v2v_batch.domain.mbr_content import MbrStep, Parameter, ParameterType
from v2v_cli.journeys import QA_REVIEWER, SPECIALIST, SUPERVISOR, Driver, Endpoints, Patient

from .mbr_batches import effective_mbr, open_batch
from .support import eventually

pytestmark = pytest.mark.integration


def value(p: Parameter, harvest_viability: float) -> dict[str, Any]:
    """A value within limits (the harvest's viability as given)."""
    v: Any
    if p.name == "viability_pct" and p.critical:
        v = harvest_viability
    elif p.type is ParameterType.BOOLEAN:
        v = True
    elif p.type is ParameterType.CHOICE:
        v = p.choices[0]
    elif p.type is ParameterType.TEXT:
        v = "LN2-02 rack 3"
    else:
        lo, hi = p.lower_limit, p.upper_limit
        if p.target is not None:
            v = p.target
        elif lo is not None and hi is not None:
            v = (lo + hi) / 2
        elif lo is not None:
            v = lo * 2 if lo > 0 else lo + 1
        else:
            assert hi is not None
            v = hi - 10
        if p.type is ParameterType.INTEGER:
            v = int(v)
    return {"value": v, **({"unit": p.unit} if p.unit else {})}


def entry(step: MbrStep, started: datetime) -> dict[str, Any]:
    return {
        "room": "GRADE-B-SUITE-2",
        "started_at": started.isoformat(),
        "ended_at": (datetime.now(UTC) - timedelta(milliseconds=200)).isoformat(),
        "values": {p.name: value(p, harvest_viability=64.0) for p in step.parameters},
        "materials": [
            {
                "material_code": m.material_code,
                "lot_id": f"LOT-{m.material_code}",
                "quantity": m.quantity,
                "unit": m.unit,
            }
            for m in step.materials
        ],
        "equipment": [
            {"equipment_id": f"EQ-{t.upper()}-01", "equipment_type": t}
            for t in step.equipment_types
        ],
    }


@pytest.mark.requirement("EU-PartIV.9", "EU-PartIV.11.4", "EU-Annex11.5")
async def test_a_car_t_batch_from_its_effective_mbr_raises_a_deviation_in_qc_over_kafka(
    platform: Endpoints,
) -> None:
    product = "S2C" + "".join(secrets.choice(string.ascii_uppercase) for _ in range(4))
    seed = read_seed(next(SEEDS.glob("S2CART*.json")))
    driver = Driver(platform, log=lambda _: None, timeout=120)
    try:
        approved = await effective_mbr(
            driver, platform, product, seed.content.model_dump(mode="json")
        )
        assert approved["status"] == "approved"
        assert [s["meaning"] for s in approved["signatures"]] == ["approved"]
        patient = Patient(
            name="Mara Beispiel", birth_date="1971-03-04", mrn="MRN-MBR-1", product_code=product
        )
        batch = await open_batch(driver, platform, patient)
        batch_id = batch["batch_id"]
        assert batch["execution"]["mbr"]["product_code"] == product
        started = datetime.fromisoformat(batch["opened_at"])
        for step in seed.content.steps[
            : [s.step_id for s in seed.content.steps].index("harvest") + 1
        ]:
            await asyncio.sleep(0.5)
            url = f"{platform.batch}/batches/{batch_id}/steps/{step.step_id}"
            done = await driver._signed(url, SPECIALIST, entry(step, started))
            started = datetime.fromisoformat(done["ended_at"])
            if step.verified:
                await driver._signed(f"{url}/verification", SPECIALIST, {}, signer=SUPERVISOR)
        record = await driver._call("GET", f"{platform.batch}/batches/{batch_id}", SPECIALIST)
        [exception] = record["execution"]["exceptions"]
        assert (exception["parameter"], exception["value"]) == ("viability_pct", "64 %")

        async def deviations() -> list[Any]:
            found: list[Any] = await driver._call(
                "GET", f"{platform.qc}/deviations?batch_id={batch_id}", QA_REVIEWER
            )
            return found

        [deviation] = await eventually(deviations, bool, timeout=60)
        assert (deviation["source"], deviation["classification"]) == ("batch-exception", "major")
        assert exception["exception_id"] in deviation["description"]
    finally:
        await driver.close()
