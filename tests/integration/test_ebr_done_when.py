"""Issue 13's "Done when", through HTTP only on the real stack (Kafka, Temporal, Keycloak):
the site's registers set up by their keepers; the seeded CAR-T MBR authored by the
supervisor, approved by QA with a signature at Keycloak and made effective; a patient's batch
executed from it through the registers' gates — a quarantined reagent, a centrifuge overdue
for calibration and an operator not qualified for transduction each refused (and recorded
where the register keeps it), then the step done right; a viability out of limits at harvest
raising a deviation in QC over Kafka; the recall query naming the batch's CoI for the vector
lot; the executed batch record as a PDF, its text checked."""

from __future__ import annotations

import io
import re
import secrets
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from v2v_batch.application.load_mbrs import SEEDS, read_seed
from v2v_batch.domain.mbr_content import MbrStep, Parameter
from v2v_cli.journeys import QA_REVIEWER, SPECIALIST, SUPERVISOR, Driver, Endpoints, Patient

from .ebr_site import SITE, Execution, SiteRegisters, iso, problem, set_up_site, within_limits
from .mbr_batches import effective_mbr
from .support import batch_of_new_patient, eventually

pytestmark = pytest.mark.integration

VECTOR_HANDLING = "viral-vector-handling"  # transduction's qualification, withheld at first
REAGENT = "CD3CD28-BEADS"  # activation's reagent: a second lot stays in quarantine
HARVEST_VIABILITY = 64.0  # below the critical limit (70 %): an exception


def value(p: Parameter) -> dict[str, Any]:
    """A value within limits but the harvest's viability."""
    if p.name == "viability_pct" and p.critical:
        return {"value": HARVEST_VIABILITY, **({"unit": p.unit} if p.unit else {})}
    return within_limits(p)


async def opened_batch(driver: Driver, platform: Endpoints, product: str) -> dict[str, Any]:
    """A patient enrolled, collected, and their batch opened at the site from the unit."""
    patient = Patient(
        name="Mara Beispiel", birth_date="1971-03-04", mrn=f"MRN-{product}", product_code=product
    )
    batch = await batch_of_new_patient(driver, platform.batch, patient, SITE)
    assert batch["execution"]["mbr"]["product_code"] == product
    return batch


async def overdue_centrifuge(run: Execution, registers: SiteRegisters, step: MbrStep) -> None:
    """A centrifuge whose calibration was due yesterday: refused (422 calibration-overdue),
    the refusal in its usage log; the calibrated centrifuge is used instead."""
    overdue = await registers.register("centrifuge", datetime.now(UTC) - timedelta(days=1))
    scanned = [{"equipment_id": overdue, "equipment_type": "centrifuge"}]
    await run.working()
    r = await run.refused_before_signing(step, run.entry(step, equipment=scanned))
    refused = problem(r, 422, "calibration-overdue")
    assert (refused["field"], refused["equipment_status"]) == ("equipment_id", "calibration-due")
    [logged] = await run.get(f"/equipment/{overdue}/usage", SUPERVISOR)
    assert (logged["batch_id"], logged["step"]) == (run.batch_id, step.step_id)
    assert logged["refusal"]["code"] == "calibration-overdue"
    assert (await run.get(f"/equipment/{overdue}"))["status"] == "calibration-due"
    await run.perform(step)
    calibrated = run.site.instruments["centrifuge"]
    [used] = await run.get(f"/equipment/{calibrated}/usage", SUPERVISOR)
    assert (used["batch_id"], used["step"], used["refusal"]) == (run.batch_id, "wash", None)
    assert used["used_by"]["user_id"] == run.site.specialist


async def quarantined_reagent(run: Execution, registers: SiteRegisters, step: MbrStep) -> None:
    """A second lot of the reagent, received but not released, scanned at its step: refused
    (422 material-lot-quarantine), kept as a refused scan in the batch's materials; the
    released lot is used instead."""
    unit = next(m.unit for m in step.materials if m.material_code == REAGENT)
    quarantined = await registers.receive(REAGENT, unit)
    await run.working()
    entry = run.entry(step)
    for m in entry["materials"]:
        if m["material_code"] == REAGENT:
            m["lot_id"] = quarantined
    refused = problem(await run.refused_before_signing(step, entry), 422, "material-lot-quarantine")
    assert (refused["field"], refused["lot_id"]) == ("lot_id", quarantined)
    materials = await run.get(f"/batches/{run.batch_id}/materials")
    [scan] = materials["refused_scans"]
    assert (scan["lot_id"], scan["step"], scan["code"]) == (
        quarantined,
        step.step_id,
        "material-lot-quarantine",
    )
    await run.perform(step)
    consumed = (await run.get(f"/batches/{run.batch_id}/materials"))["consumed"]
    assert (step.step_id, run.site.lots[REAGENT]) in {(c["step"], c["lot_id"]) for c in consumed}
    lot = await run.get(f"/material-lots/{quarantined}")
    assert (lot["status"], lot["remaining_quantity"]) == ("quarantine", lot["received_quantity"])


async def unqualified_operator(run: Execution, registers: SiteRegisters, step: MbrStep) -> None:
    """The specialist, not yet qualified for viral vector handling, signs the transduction:
    403 not-qualified, nothing recorded (the vector lot untouched); once the supervisor has
    recorded the qualification, the transduction done from then on is recorded."""
    vector = run.site.lots["LV-CD19-CAR"]
    before = await run.get(f"/material-lots/{vector}")
    await run.working()
    r = await run.driver._signed_request(run.url(step), SPECIALIST, run.entry(step))
    refused = problem(r, 403, "not-qualified")
    assert (refused["user_id"], refused["qualification"]) == (run.site.specialist, VECTOR_HANDLING)
    record = await run.get(f"/batches/{run.batch_id}")
    assert record["execution"]["next_step"] == step.step_id
    assert (await run.get(f"/material-lots/{vector}")) == before
    at = iso(run.started)
    query = f"/people/{run.site.specialist}/qualified?qualification={VECTOR_HANDLING}&at={at}"
    assert not (await run.get(query.replace("+", "%2B")))["qualified"]

    since = datetime.now(UTC) - timedelta(milliseconds=100)
    assert since > run.started
    body = {"kind": "practical", "code": VECTOR_HANDLING, "valid_from": iso(since)}
    await registers.grant(run.site.specialist, SUPERVISOR, body)
    run.started = since  # the transduction is done from the assessment on
    await run.perform(step)


@pytest.mark.requirement(
    "EU-PartIV.3",
    "EU-PartIV.5",
    "EU-PartIV.6.4",
    "EU-PartIV.6.7",
    "EU-PartIV.7",
    "EU-PartIV.9",
    "EU-PartIV.11.4",
    "EU-Annex11.5",
    "EU-Annex11.8.1",
)
async def test_a_car_t_batch_through_the_registers_gates_to_its_record_pdf(
    platform: Endpoints,
) -> None:
    product = "S2C" + "".join(secrets.choice(string.ascii_uppercase) for _ in range(4))
    content = read_seed(next(SEEDS.glob("S2CART*.json"))).content
    steps = {s.step_id: s for s in content.steps}
    assert steps["wash"].equipment_types == ("centrifuge",)
    assert steps["transduction"].qualification == VECTOR_HANDLING
    driver = Driver(platform, log=lambda _: None, timeout=120)
    try:
        site, registers = await set_up_site(
            driver, platform.batch, content, withheld=VECTOR_HANDLING, specialist=SPECIALIST
        )
        approved = await effective_mbr(driver, platform, product, content.model_dump(mode="json"))
        assert approved["status"] == "approved"
        assert [s["meaning"] for s in approved["signatures"]] == ["approved"]
        batch = await opened_batch(driver, platform, product)
        batch_id, coi = batch["batch_id"], batch["coi"]
        run = Execution(driver, platform.batch, batch_id, site, batch["opened_at"], value)
        gates = {
            "wash": overdue_centrifuge,
            "activation": quarantined_reagent,
            "transduction": unqualified_operator,
        }
        for step in content.steps:
            if step.step_id in gates:
                await gates[step.step_id](run, registers, step)
            else:
                await run.perform(step)

        record = await run.get(f"/batches/{batch_id}", SPECIALIST)
        execution = record["execution"]
        assert execution["next_step"] is None and record["unverified_steps"] == []
        assert {s["performed_by"]["user_id"] for s in execution["steps"]} == {site.specialist}
        [exception] = execution["exceptions"]
        assert (exception["step_id"], exception["parameter"]) == ("harvest", "viability_pct")

        [deviation] = await eventually(lambda: run.deviations(platform.qc), bool, timeout=60)
        assert (deviation["source"], deviation["classification"]) == ("batch-exception", "major")
        assert exception["exception_id"] in deviation["description"]

        recall = await run.get(f"/material-lots/{site.lots['LV-CD19-CAR']}/genealogy")
        assert recall["cois"] == [coi]
        [used] = recall["batches"]
        assert (used["batch_id"], used["coi"]) == (batch_id, coi)
        assert [(c["step"], c["quantity"], c["unit"]) for c in used["consumed"]] == [
            ("transduction", 1, "vial")
        ]

        await the_record_pdf(run, execution, exception, coi)
    finally:
        await driver.close()


async def the_record_pdf(
    run: Execution, execution: dict[str, Any], exception: dict[str, Any], coi: str
) -> None:
    """QA's PDF of the executed record: the title block, each step's performer, every
    signature with printed name and meaning, the exception out of limits."""
    url = f"{run.batch}/batches/{run.batch_id}/record.pdf"
    r = await run.driver.http.get(url, headers=await run.driver.headers(QA_REVIEWER))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    pages = [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(r.content)).pages]
    text = " ".join(pages)
    assert "Executed batch record" in pages[0]
    assert f"Batch {run.batch_id}" in pages[0] and f"Chain of identity {coi}" in pages[0]

    def at(t: str) -> str:
        return datetime.fromisoformat(t).isoformat()

    signatures = []
    for step in execution["steps"]:
        who = step["performed_by"]
        entered = f"Performed by {who['user_id']} ({who['role']}); entered "
        entered += at(step["recorded_at"])
        assert entered in text, step["step_id"]
        signatures += step["signatures"]
    assert {s["meaning"] for s in signatures} == {"performed", "verified"}
    for s in signatures:
        assert (
            f"Signed ({s['meaning']}) by {s['signer_name']} ({s['signer_id']}, "
            f"{s['signer_role']}) at {at(s['signed_at'])} UTC / {s['signed_at_site']}"
        ) in text
    assert "Signed (performed) by Sam Okafor" in text  # the demo realm's specialist
    assert "Signed (verified) by Maria Lopez" in text  # ... and supervisor
    assert f"{exception['exception_id']} at harvest ({exception['kind']}):" in text
    low = r"Viability at harvest \(critical\): 64(\.0)? % \[[^\]]+\] OUT OF LIMITS"
    assert re.search(low, text), text
