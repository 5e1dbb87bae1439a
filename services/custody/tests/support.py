"""Shared test data and a small driver for custody's API and inbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from v2v_events.contracts.batch import LotProduced
from v2v_events.contracts.common import Actor
from v2v_events.contracts.qc import LotReleased, LotReleaseRejected
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, StepClock, as_user, cosigned

START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
# Sites of the packaged site directory (config/sites.v1.json): enrolments name known sites.
TREATMENT = "treatment-center-1"
APHERESIS = "apheresis-center-1"
SITE = "manufacturing-site-1"
NAME = "Erika Mustermann-Zwieback"
BIRTH = "1961-08-12"
MRN = "MRN-77-4431-QX"
# Each act as the person who does it (a token per person, signed by the test issuer). The
# coordinator is "u-coordinator" (records of enrolments name them); the people who sign custody's
# acts (handoffs, receipts, infusions) are each their own person, who signs with
# signing_password(user id).
COORDINATOR = as_user("u-coordinator", "treatment-center-coordinator")
APHERESIS_NURSE = as_user("u-apheresis", "apheresis-nurse", name="Anna Apheresis")
INFUSION_NURSE = as_user("u-infusion", "infusion-nurse", name="Ines Infusion")
MATERIALS_HANDLER = as_user("u-handler", "materials-handler", name="Mia Handler")
COURIER = as_user("u-carl", "courier", name="Carl Courier")
ROLE_OF: list[tuple[str, str, dict[str, str]]] = [
    ("POST", "/collections", APHERESIS_NURSE),
    ("POST", "/infusions", INFUSION_NURSE),
    ("POST", "/thaw", INFUSION_NURSE),
    ("POST", "/receipts", MATERIALS_HANDLER),
    ("POST", "/transfers", COURIER),
]
# Who signs each signed act by default: the handoff's releasing party (the manufacturing
# site's materials handler) and receiving party (the courier); the receiver; the nurse.
SIGNERS: list[tuple[str, dict[str, str]]] = [
    ("/transfers", {"signature": "u-handler", "counter_signature": "u-carl"}),
    ("/receipts", {"signature": "u-handler"}),
    ("/infusions", {"signature": "u-infusion"}),
    ("/thaw", {"signature": "u-infusion"}),
]
ACTOR = Actor(user_id="u-coordinator", role="treatment-center-coordinator")
QA = Actor(user_id="u-qa", role="qa-reviewer")


def signers_for(path: str) -> dict[str, str]:
    return next((who for fragment, who in SIGNERS if fragment in path), {})


def headers_for(method: str, path: str) -> dict[str, str]:
    """Who does this in real life: the coordinator enrols, corrects and reads; nurses
    collect and infuse; materials handlers receive; couriers hand over."""
    for m, fragment, headers in ROLE_OF:
        if m == method and fragment in path:
            return headers
    return COORDINATOR


def enrollment(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": NAME,
        "birth_date": BIRTH,
        "medical_record_number": MRN,
        "therapy": "CAR-T",
        "product_code": "S1234",
        "autologous": True,
        "treatment_center": TREATMENT,
        "apheresis_center": APHERESIS,
        "manufacturing_site": SITE,
        "patient_weight_kg": 72.5,
        # within the enrolment window of the clock (2026-11-24, and 2027-01-01 in one test)
        "earliest_collection": "2027-01-04",
    }
    body.update(overrides)
    return body


def collection(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apheresis_center": APHERESIS,
        "volume_ml": 210.0,
        "total_nucleated_cells": 9.1e9,
        "collection_started_at": (START - timedelta(hours=5)).isoformat(),
        "collection_ended_at": (START - timedelta(hours=1)).isoformat(),
    }
    body.update(overrides)
    return body


def assert_problem(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    if code is not None:
        assert body["type"] == f"urn:vein2vein:problem:{code}", body
    return body


class Custody:
    """Drives the service the way its callers do: HTTP for people, the inbox for messages."""

    def __init__(self, harness: ServiceHarness, client: httpx.AsyncClient) -> None:
        self.harness = harness
        self.client = client
        self._lots = 0
        self._patients = 0

    @property
    def clock(self) -> StepClock:
        clock = self.harness.kit.clock
        assert isinstance(clock, StepClock)
        return clock

    async def post(
        self, path: str, body: dict[str, Any], *, signers: dict[str, str] | None = None
    ) -> httpx.Response:
        """POST as the person who does it; a signed act is signed (428, then signed) by
        ``signers`` (request field -> login), by default those of ``SIGNERS``."""
        return await cosigned(
            self.client,
            path,
            body,
            headers_for("POST", path),
            signers=signers_for(path) if signers is None else signers,
        )

    async def unsigned(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(path, json=body, headers=headers_for("POST", path))

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path, headers=headers_for("GET", path))

    async def enroll(self, **overrides: Any) -> str:
        """Each call enrolls another patient (the first has ``MRN``, the others their own
        record numbers) unless the overrides name one."""
        self._patients += 1
        if self._patients > 1:
            overrides.setdefault("medical_record_number", f"{MRN}-{self._patients}")
        r = await self.post("/patients", enrollment(**overrides))
        assert r.status_code == 201, r.text
        coi: str = r.json()["coi"]
        return coi

    async def collect(self, coi: str, **overrides: Any) -> dict[str, Any]:
        r = await self.post(f"/patients/{coi}/collections", collection(**overrides))
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    async def produce_lot(self, coi: str, bags: list[str], lot_id: str | None = None) -> str:
        self._lots += 1
        lot_id = lot_id or f"LOT-{self._lots}"
        outcome = await self.harness.deliver(lot(coi, lot_id, bags), subject=coi)
        assert outcome is Outcome.PROCESSED
        return lot_id

    async def receive(self, unit_id: str, coi: str, **overrides: Any) -> httpx.Response:
        body: dict[str, Any] = {
            "unit_id": unit_id,
            "scanned_coi": coi,
            "location": TREATMENT,
            "location_kind": "treatment-center",
            "temperature_c": -160.0,
            "minutes_out_of_storage": 3,
        }
        body.update(overrides)
        return await self.post("/receipts", body)

    async def release(self, coi: str, lot_id: str) -> None:
        """QA released the lot (QC's lot.released, through the inbox)."""
        outcome = await self.harness.deliver(released(coi, lot_id), subject=coi)
        assert outcome is Outcome.PROCESSED

    async def reject_release(self, coi: str, lot_id: str) -> None:
        """QA rejected the lot's release (QC's lot.release-rejected, through the inbox)."""
        outcome = await self.harness.deliver(release_rejected(coi, lot_id), subject=coi)
        assert outcome is Outcome.PROCESSED

    async def thaw(
        self, coi: str, unit_id: str, at: datetime | None = None, **signers: str
    ) -> httpx.Response:
        """The infusion nurse records the thaw's start (now, unless ``at``), signed."""
        body = {"thaw_started_at": (at or self.clock.current).isoformat()}
        url = f"/patients/{coi}/units/{unit_id}/thaw"
        return await self.post(url, body, signers=signers or None)

    async def thawed(self, coi: str, bags: list[str]) -> datetime:
        """The bags' thaw recorded, all started now: when."""
        started = self.clock.current
        for bag in bags:
            r = await self.thaw(coi, bag, started)
            assert r.status_code == 201, r.text
        return started

    async def final_product_at_treatment_center(
        self, coi: str, bags: list[str], *, released: bool = True
    ) -> str:
        """A lot's bags registered, released by QA (unless not ``released``), shipped by
        courier and received at the treatment center: the lot's id."""
        lot_id = await self.produce_lot(coi, bags)
        if released:
            await self.release(coi, lot_id)
        for bag in bags:
            r = await self.post(
                "/transfers",
                {
                    "unit_id": bag,
                    "from_party": SITE,
                    "to_party": "courier-1",
                    "location": SITE,
                    "temperature_c": -170.0,
                },
            )
            assert r.status_code == 201, r.text
            r = await self.receive(bag, coi)
            assert r.status_code == 201, r.text
        return lot_id


def released(coi: str, lot_id: str) -> LotReleased:
    return LotReleased(
        coi=coi,
        lot_id=lot_id,
        panel_id=f"panel-{lot_id}",
        certificate_id=f"coa-{lot_id}",
        decided_at=START - timedelta(hours=2),
        actor=QA,
    )


def release_rejected(coi: str, lot_id: str) -> LotReleaseRejected:
    return LotReleaseRejected(
        coi=coi,
        lot_id=lot_id,
        panel_id=f"panel-{lot_id}",
        reason="batch record review: unexplained gap in the expansion step",
        decided_at=START - timedelta(hours=2),
        actor=QA,
    )


def lot(coi: str, lot_id: str, bags: list[str]) -> LotProduced:
    return LotProduced(
        coi=coi,
        batch_id=f"batch-{lot_id}",
        lot_id=lot_id,
        bag_ids=bags,
        total_viable_cells=4.6e8,
        viability_pct=86.4,
        retained_aliquots_remaining=1,
        manufacturing_site=SITE,
        produced_at=START - timedelta(days=1),
        expires_at=START + timedelta(days=365),
        actor=ACTOR,
    )
