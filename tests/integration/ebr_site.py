"""A manufacturing site's registers set up over HTTP for executing a master batch record, as
the people who keep them do it: materials management defines the materials and receives a
lot of each (QA releases it, signed); the supervisor puts an instrument of each type in the
equipment register; QA registers each step's SOP; the supervisor records the specialist's
training and qualifications, QA the supervisor's (nobody records their own).

The stack lives for the whole test session and a run may repeat against one database: lot
ids are the service's, instrument ids carry a random suffix, a material defined again the
same way is the same definition, and an SOP version already in the register is used as it is.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from v2v_batch.domain.mbr_content import MbrContent, MbrStep, Parameter, ParameterType
from v2v_cli.journeys import PROBLEM, QA_REVIEWER, RECEIVER, SPECIALIST, SUPERVISOR, Driver

SITE = "manufacturing-site-1"  # the demo supervisor's, specialist's, handler's and QA's site

# What the materials management knows of each material of the CAR-T MBR: name, type, storage.
MATERIALS: dict[str, tuple[str, str, str]] = {
    "BUF-PBSEDTA-HSA": ("PBS/EDTA buffer with 0.5 % HSA", "reagent", "refrigerated-2-8C"),
    "CD4-MICROBEADS": ("CD4 MicroBeads, clinical grade", "reagent", "refrigerated-2-8C"),
    "CD8-MICROBEADS": ("CD8 MicroBeads, clinical grade", "reagent", "refrigerated-2-8C"),
    "CD3CD28-BEADS": ("CD3/CD28 activation reagent", "reagent", "refrigerated-2-8C"),
    "MEDIUM-TEXMACS-IL7IL15": ("TexMACS medium with IL-7 and IL-15", "medium", "refrigerated-2-8C"),
    "LV-CD19-CAR": ("Lentiviral vector, anti-CD19 CAR", "vector", "frozen-minus-80C"),
    "BAG-BIOREACTOR-2L": ("Bioreactor culture bag, 2 L", "consumable", "ambient-15-25C"),
    "PLASMALYTE-A-HSA5": ("Plasma-Lyte A with 5 % HSA", "medium", "refrigerated-2-8C"),
    "CRYOSTOR-CS10": ("CryoStor CS10 freezing medium", "medium", "refrigerated-2-8C"),
    "CRYOBAG-50ML": ("Cryopreservation bag, 50 mL", "consumable", "ambient-15-25C"),
}
LOT_SIZE = {"mL": 5000, "vial": 10, "each": 20}  # a lot received, by the unit it counts in
PREFIX = {  # instrument id prefixes by equipment type, as labels on the floor read
    "centrifuge": "CEN",
    "cell-selection-system": "SEL",
    "biosafety-cabinet": "BSC",
    "bioreactor": "BIO",
    "magnet": "MAG",
    "cell-counter": "CNT",
    "cell-processing-system": "CPS",
    "tube-sealer": "SEAL",
    "controlled-rate-freezer": "CRF",
    "ln2-storage": "LN2",
}


@dataclass(frozen=True)
class Site:
    lots: dict[str, str]  # material code -> a released lot's id
    instruments: dict[str, str]  # equipment type -> an instrument in service, calibrated
    specialist: str  # user ids (the provider's subjects): who performs ...
    supervisor: str  # ... and who verifies


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The RFC 9457 problem of ``r``, asserted to be ``code`` with ``status``."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    assert body["type"] == f"{PROBLEM}{code}", body
    return body


def iso(t: datetime) -> str:
    return t.isoformat()


class SiteRegisters:
    """The registers of the batch service at ``SITE``, written by their keepers."""

    def __init__(self, driver: Driver, batch: str) -> None:
        self.driver = driver
        self.batch = batch
        self.suffix = secrets.token_hex(3).upper()

    async def _post(self, path: str, who: str, body: dict[str, Any]) -> Any:
        return await self.driver._call("POST", f"{self.batch}{path}", who, body)

    # --- materials ---------------------------------------------------------------------

    async def define(self, code: str, unit: str) -> None:
        name, kind, storage = MATERIALS[code]
        body = {
            "material_code": code,
            "name": name,
            "material_type": kind,
            "storage_condition": storage,
            "unit": unit,
        }
        defined = await self._post("/material-master", RECEIVER, body)  # 201, or 200 again
        assert (defined["material_code"], defined["unit"]) == (code, unit), defined

    async def receive(self, code: str, unit: str) -> str:
        """A supplier's lot received into quarantine by materials management: its lot id."""
        n = secrets.token_hex(2).upper()
        body = {
            "material_code": code,
            "site": SITE,
            "supplier": "Miltenyi Biotec" if "BEADS" in code else "ACME Bioprocess",
            "supplier_lot": f"{code[:6]}-{self.suffix}{n}",
            "quantity": LOT_SIZE[unit],
            "unit": unit,
            "expires_at": iso(datetime.now(UTC) + timedelta(days=180)),
            "certificate_ref": f"COA-{self.suffix}{n}",
        }
        lot = await self._post("/material-lots", RECEIVER, body)
        assert lot["status"] == "quarantine", lot
        lot_id: str = lot["lot_id"]
        return lot_id

    async def release(self, lot_id: str) -> None:
        url = f"{self.batch}/material-lots/{lot_id}/release"
        released = await self.driver._signed(url, QA_REVIEWER, {"note": "CoA reviewed"})
        assert released["status"] == "released", released

    # --- equipment ---------------------------------------------------------------------

    async def register(self, equipment_type: str, calibration_due: datetime) -> str:
        """An instrument in service for a month, calibration due at ``calibration_due``."""
        now = datetime.now(UTC)
        equipment_id = f"{PREFIX[equipment_type]}-{self.suffix}-{secrets.token_hex(2).upper()}"
        body = {
            "equipment_id": equipment_id,
            "equipment_type": equipment_type,
            "name": f"{equipment_type.replace('-', ' ')} {equipment_id}",
            "site": SITE,
            "location": "GRADE-B-SUITE-2",
            "calibration": {"interval_days": 180, "due_at": iso(calibration_due)},
            "maintenance": {"interval_days": 90, "due_at": iso(now + timedelta(days=45))},
            "in_service_from": iso(now - timedelta(days=30)),
        }
        registered = await self._post("/equipment", SUPERVISOR, body)
        assert registered["equipment_id"] == equipment_id, registered
        return equipment_id

    # --- SOPs and training -------------------------------------------------------------

    async def sop(self, step: MbrStep) -> None:
        """The step's SOP version in the register (QA), unless already there."""
        now = datetime.now(UTC)
        body = {
            "document_id": step.sop.document_id,
            "version": int(step.sop.version),
            "title": step.name,
            "effective_at": iso(now - timedelta(days=30)),
            "training_due_at": iso(now - timedelta(days=40)),
        }
        r = await self.driver._request("POST", f"{self.batch}/sops", QA_REVIEWER, body)
        if r.status_code == 409:  # registered by an earlier run: that version, still current
            assert problem(r, 409, "sop-version-not-newer")["current_version"] == body["version"]
        else:
            assert r.status_code == 201, r.text

    async def grant(self, user_id: str, by: str, body: dict[str, Any]) -> dict[str, Any]:
        granted: dict[str, Any] = await self._post(
            f"/people/{user_id}/qualifications", by, body | {"reference": f"TR-{self.suffix}"}
        )
        assert granted["holds"], granted
        return granted

    async def train(self, user_id: str, by: str, steps: list[MbrStep], since: datetime) -> None:
        """Trained on each step's SOP version and holding each step's qualification."""
        for sop in sorted({(s.sop.document_id, int(s.sop.version)) for s in steps}):
            body = {"kind": "sop", "document_id": sop[0], "sop_version": sop[1]}
            await self.grant(user_id, by, body | {"valid_from": iso(since)})
        for code in sorted({s.qualification for s in steps if s.qualification}):
            await self.grant(
                user_id, by, {"kind": "practical", "code": code, "valid_from": iso(since)}
            )

    async def withdraw(self, user_id: str, code: str, by: str) -> None:
        """Revoke the person's qualifications ``code`` that hold now (an earlier run's)."""
        url = f"{self.batch}/people/{user_id}/qualifications"
        record = await self.driver._call("GET", url, by)
        for q in record["qualifications"]:
            if q["code"] == code and q["revoked_at"] is None:
                reason = {"reason": "re-assessment due after the vector handling SOP change"}
                await self._post(
                    f"/people/{user_id}/qualifications/{q['qualification_id']}/revocation",
                    by,
                    reason,
                )


async def set_up_site(
    driver: Driver, batch: str, content: MbrContent, *, withheld: str, specialist: str
) -> tuple[Site, SiteRegisters]:
    """Everything the MBR's steps ask of the registers, at ``SITE``: a released lot of each
    material, a calibrated instrument of each type, each step's SOP; the supervisor trained
    for the steps they verify (recorded by QA), the specialist (``specialist``: a demo user)
    for every step (recorded by the supervisor) but for the qualification ``withheld``."""
    registers = SiteRegisters(driver, batch)
    steps = content.steps
    units = {m.material_code: m.unit for s in steps for m in s.materials}
    lots: dict[str, str] = {}
    for code, unit in sorted(units.items()):
        await registers.define(code, unit)
        lots[code] = await registers.receive(code, unit)
        await registers.release(lots[code])
    in_half_a_year = datetime.now(UTC) + timedelta(days=180)
    types = sorted({t for s in steps for t in s.equipment_types})
    instruments = {t: await registers.register(t, in_half_a_year) for t in types}
    for step in steps:
        await registers.sop(step)
    performer = await driver.tokens.subject(specialist)
    verifier = await driver.tokens.subject(SUPERVISOR)
    since = datetime.now(UTC) - timedelta(minutes=1)  # trained and assessed just before
    await registers.withdraw(performer, withheld, SUPERVISOR)
    trained = [s for s in steps if s.qualification != withheld]
    untrained = [s for s in steps if s.qualification == withheld]
    await registers.train(performer, SUPERVISOR, trained, since)
    for s in untrained:  # trained on the SOP, not yet assessed in practice
        body = {"kind": "sop", "document_id": s.sop.document_id, "sop_version": int(s.sop.version)}
        await registers.grant(performer, SUPERVISOR, body | {"valid_from": iso(since)})
    await registers.train(verifier, QA_REVIEWER, [s for s in steps if s.verified], since)
    return Site(lots, instruments, performer, verifier), registers


def within_limits(p: Parameter) -> dict[str, Any]:
    """A value of the parameter within its limits, as entered (with its unit)."""
    v: Any
    if p.type is ParameterType.BOOLEAN:
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


class Execution:
    """The specialist executing the batch on the floor's tablet, step after step."""

    def __init__(
        self,
        driver: Driver,
        batch: str,
        batch_id: str,
        site: Site,
        opened: str,
        values: Callable[[Parameter], dict[str, Any]] = within_limits,
    ) -> None:
        self.driver = driver
        self.values = values
        self.batch = batch
        self.batch_id = batch_id
        self.site = site
        self.started = datetime.fromisoformat(opened)  # each step starts as the last ended

    def url(self, step: MbrStep) -> str:
        return f"{self.batch}/batches/{self.batch_id}/steps/{step.step_id}"

    def entry(self, step: MbrStep, **instead: Any) -> dict[str, Any]:
        """The step as done: every value, the released lots and calibrated instruments."""
        return {
            "room": "GRADE-B-SUITE-2",
            "started_at": iso(self.started),
            "ended_at": iso(datetime.now(UTC) - timedelta(milliseconds=200)),
            "values": {p.name: self.values(p) for p in step.parameters},
            "materials": [
                {
                    "material_code": m.material_code,
                    "lot_id": self.site.lots[m.material_code],
                    "quantity": m.quantity,
                    "unit": m.unit,
                }
                for m in step.materials
            ],
            "equipment": [
                {"equipment_id": self.site.instruments[t], "equipment_type": t}
                for t in step.equipment_types
            ],
        } | instead

    async def working(self) -> None:
        await asyncio.sleep(0.3)  # a step takes its time: it ends after it started

    async def refused_before_signing(self, step: MbrStep, entry: dict[str, Any]) -> Any:
        """The step as entered, refused before anyone is asked to sign."""
        return await self.driver._request("POST", self.url(step), SPECIALIST, entry)

    async def perform(self, step: MbrStep) -> None:
        """Performed, signed by the specialist; verified by the supervisor when it must be."""
        await self.working()
        done = await self.driver._signed(self.url(step), SPECIALIST, self.entry(step))
        assert done["status"] == "performed", done
        self.started = datetime.fromisoformat(done["ended_at"])
        if step.verified:  # on the specialist's tablet, the supervisor signs
            url = f"{self.url(step)}/verification"
            await self.driver._signed(url, SPECIALIST, {}, signer=SUPERVISOR)

    async def get(self, path: str, who: str = QA_REVIEWER) -> Any:
        return await self.driver._call("GET", f"{self.batch}{path}", who)

    async def deviations(self, qc: str) -> list[Any]:
        """QC's deviations on the batch."""
        url = f"{qc}/deviations?batch_id={self.batch_id}"
        found: list[Any] = await self.driver._call("GET", url, QA_REVIEWER)
        return found
