"""The four services in-process on SQLite, on their packaged configuration and one clock, with
one patient's journey seeded the way people and the journey drive it. Used by
test_edge_processability: it fuzzes each service's API (schemathesis strategies from the
service's own OpenAPI document), mostly pointed at this journey's real ids and at
values inside the domain's windows, and runs every consumer's own decoding and validation on
what a request published."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode

from v2v_batch.bootstrap import build as build_batch
from v2v_batch.settings import BatchSettings
from v2v_custody.adapters.config import load_sites
from v2v_custody.bootstrap import build as build_custody
from v2v_custody.settings import CustodySettings
from v2v_events import REGISTRY
from v2v_events.bounds import MAX_DATE, MAX_INSTANT, MIN_DATE, MIN_INSTANT
from v2v_events.contracts.batch import LotProduced
from v2v_events.contracts.common import Actor, ShipmentDirection, TemperatureClass
from v2v_events.contracts.logistics import (
    BookShipment,
    CollectionScheduled,
    ScheduleCollection,
    ShipmentBooked,
)
from v2v_events.contracts.qc import OrderPanel, PanelOrdered
from v2v_events.envelope import Envelope
from v2v_logistics.bootstrap import build as build_logistics
from v2v_logistics.settings import LogisticsSettings
from v2v_qc.bootstrap import build as build_qc
from v2v_qc.settings import QcSettings
from v2v_runtime.authz import PEOPLE, Roles
from v2v_runtime.service import ServiceSpec
from v2v_runtime.testing import SeqIds, ServiceHarness, StepClock, as_user, signed

START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
# The fuzzer calls as any person (a machine's roles are for Kafka and read APIs).
ROLES = PEOPLE
# The seed walks one patient to a produced lot: a person with the roles of each step.
SEEDER = as_user(
    "u-seed",
    Roles.TREATMENT_CENTER_COORDINATOR,
    Roles.APHERESIS_NURSE,
    Roles.CELL_THERAPY_SPECIALIST,
)
# A second person verifies the seeder's critical batch steps, on the seeder's session.
VERIFIER = "u-seed-verifier"
as_user(VERIFIER, Roles.MANUFACTURING_SUPERVISOR)
JOURNEY = Actor(user_id="journey", role="system")
SERVICES = ("custody", "logistics", "batch", "qc")
_BUILD = {
    "custody": lambda url: build_custody(CustodySettings(database_url=url)),
    "logistics": lambda url: build_logistics(LogisticsSettings(database_url=url)),
    "batch": lambda url: build_batch(BatchSettings(database_url=url)),
    "qc": lambda url: build_qc(QcSettings(database_url=url)),
}


def spec(service: str, url: str = "sqlite+aiosqlite:///:memory:", **kw: Any) -> ServiceSpec:
    built: ServiceSpec = _BUILD[service](url)
    for name, value in kw.items():
        setattr(built, name, value)
    return built


def operations(method: str) -> list[tuple[str, str]]:
    """(service, path) of every route answering ``method`` (the routers, no app needed)."""
    return [
        (service, route.path)
        for service in SERVICES
        for router in spec(service).api_routers
        for route in router.routes
        if method in getattr(route, "methods", ())
    ]


class World:
    def __init__(self, root: Path) -> None:
        self.clock = StepClock(START)
        self.sites = load_sites()
        self.h: dict[str, ServiceHarness] = {
            s: ServiceHarness(
                spec(s, ServiceHarness.sqlite_url(root, s), clock=self.clock, ids=SeqIds(s[:2]))
            )
            for s in SERVICES
        }
        self.http: dict[str, httpx.AsyncClient] = {}
        self.schemas = {
            s: schemathesis.openapi.from_dict(h.kit.http_app(manage_lifecycle=False).openapi())
            for s, h in self.h.items()
        }
        self.ids: dict[str, list[str]] = {}  # path/body field -> ids of the seeded journey
        self._stack = contextlib.AsyncExitStack()

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        for name, harness in self.h.items():
            await harness.start()
            self.http[name] = await self._stack.enter_async_context(harness.client())
        await self._seed()

    async def close(self) -> None:
        await self._stack.aclose()
        for harness in self.h.values():
            await harness.close()

    async def post(self, service: str, path: str, body: Any) -> Any:
        r = await self.http[service].post(path, json=body, headers=SEEDER)
        assert r.status_code in (200, 201), r.text
        return r.json()

    async def signed(self, service: str, path: str, body: Any, signer: str | None = None) -> Any:
        """A signed act on the seeder's session, signed by ``signer`` (by default the
        seeder)."""
        r = await signed(self.http[service], path, body, SEEDER, signer=signer)
        assert r.status_code in (200, 201), r.text
        return r.json()

    async def deliver(self, service: str, message: Any, coi: str) -> None:
        outcome = await self.h[service].deliver(message, subject=coi)
        assert outcome.value == "processed", (service, message)

    async def published(self, service: str) -> list[Envelope]:
        return [env for _, env in await self.h[service].outbox()]

    # --- one journey, as people and the journey drive it ---------------------------------

    async def _seed(self) -> None:
        today = self.clock.now().date()
        sites = {"treatment_center": "treatment-center-1", "apheresis_center": "apheresis-center-1"}
        enrolled = await self.post(
            "custody",
            "/patients",
            {
                "name": "Edge Testperson",
                "birth_date": "1961-04-02",
                "medical_record_number": "MRN-EDGE-1",
                "therapy": "CAR-T",
                "product_code": "S1234",
                "autologous": True,
                "manufacturing_site": "manufacturing-site-1",
                "patient_weight_kg": 70.0,
                "earliest_collection": today.isoformat(),
                **sites,
            },
        )
        coi = enrolled["coi"]
        cmd = ScheduleCollection(
            coi=coi,
            apheresis_center="apheresis-center-1",
            manufacturing_site="manufacturing-site-1",
            earliest_date=today,
            actor=JOURNEY,
        )
        await self.deliver("logistics", cmd, coi)
        ended = START - timedelta(hours=2)
        unit = await self.post(
            "custody",
            f"/patients/{coi}/collections",
            {
                "apheresis_center": "apheresis-center-1",
                "volume_ml": 240.0,
                "total_nucleated_cells": 1.2e10,
                "collection_started_at": (ended - timedelta(hours=3)).isoformat(),
                "collection_ended_at": ended.isoformat(),
            },
        )
        await self.forward("custody")  # CollectionRecorded -> batch
        ship = BookShipment(
            coi=coi,
            direction=ShipmentDirection.INBOUND,
            temperature_class=TemperatureClass.FRESH_2_8,
            unit_ids=[unit["unit_id"]],
            origin="apheresis-center-1",
            destination="manufacturing-site-1",
            actor=JOURNEY,
        )
        await self.deliver("logistics", ship, coi)
        opened = {
            "coi": coi,
            "apheresis_unit_id": unit["unit_id"],
            "din": unit["din"],
            "manufacturing_site": "manufacturing-site-1",
            "product_code": "S1234",
        }
        first = (await self.post("batch", "/batches", opened))["batch_id"]
        second = (await self.post("batch", "/batches", opened | {"attempt": 2}))["batch_id"]
        steps = ("selection", "activation", "transduction", "expansion", "harvest")
        steps += ("formulation", "cryopreservation")
        for i, step in enumerate(steps):
            at = START - timedelta(days=2) + timedelta(hours=i)
            body = {"step": step, "started_at": at.isoformat(), "ended_at": at.isoformat()}
            if step == "harvest":
                body |= {"viable_cell_count": 2.5e9, "viability_pct": 91.0}
            done = await self.signed("batch", f"/batches/{first}/steps", body)
            if done["verification_required"]:
                url = f"/batches/{first}/steps/{step}/verification"
                await self.signed("batch", url, {}, signer=VERIFIER)
        lot = await self.post(
            "batch",
            f"/batches/{first}/lot",
            {"bag_count": 2, "total_viable_cells": 4.6e8, "viability_pct": 88.0},
        )
        await self.forward("batch")  # LotProduced -> custody, qc
        order = OrderPanel(
            coi=coi,
            lot_id=lot["lot_id"],
            product_code="S1234",
            patient_weight_kg=70.0,
            actor=JOURNEY,
        )
        await self.deliver("qc", order, coi)
        # a clean room the steps may be done in and monitoring results recorded for
        room = {"room_id": "EDGE-B-1", "name": "Edge suite", "grade": "B"}
        supervisor = as_user(VERIFIER, Roles.MANUFACTURING_SUPERVISOR)
        r = await self.http["batch"].post(
            "/rooms", json=room | {"site": "manufacturing-site-1"}, headers=supervisor
        )
        assert r.status_code == 201, r.text
        [panel] = await self.h["qc"].published(PanelOrdered)
        [booked] = await self.h["logistics"].published(ShipmentBooked)
        [scheduled] = await self.h["logistics"].published(CollectionScheduled)
        [produced] = await self.h["batch"].published(LotProduced)
        self.ids = {
            "coi": [coi],
            "scanned_coi": [coi],
            "unit_id": [unit["unit_id"], *produced.bag_ids],
            "apheresis_unit_id": [unit["unit_id"]],
            "din": [unit["din"]],
            "batch_id": [first, second],
            "lot_id": [lot["lot_id"]],
            "shipment_id": [booked.shipment_id],
            "booking_id": [scheduled.booking_id],  # the shipment stays to be picked up
            "test_code": ["viability", "cd3_pos", "car_pos", "vcn", "sterility", "potency"],
            "scanned_din": [unit["din"]],
            "panel_id": [panel.panel_id],
            "product_code": ["S1234"],
            "site": ["manufacturing-site-1"],
            "treatment_center": sorted(self.sites.treatment_centers),
            "apheresis_center": ["apheresis-center-1"],
            "manufacturing_site": sorted(self.sites.manufacturing_sites),
            "location": ["manufacturing-site-1", "treatment-center-1"],
            "room_id": [room["room_id"]],
            "room": [room["room_id"]],
            "sample_type": ["settle-plate", "glove-print", "particles-0.5um", "particles-5um"],
        }

    async def forward(self, producer: str) -> None:
        """Hand what ``producer`` published to the services that consume it."""
        for env in await self.published(producer):
            message = REGISTRY.decode_envelope(env)
            for name, harness in self.h.items():
                if type(message) in harness.kit.spec.handlers and name != producer:
                    await harness.deliver(message, subject=env.subject, id=env.id)

    # --- fuzzing ------------------------------------------------------------------------------

    def draw_case(self, data: st.DataObject, service: str, path: str, method: str) -> Case:
        operation = self.schemas[service][path][method.upper()]
        # negative: off the schema; positive: on it; seeded: the journey's ids, and dates in
        # the domain's windows; wide: the journey's ids, dates anywhere the contracts allow
        # (their edges above all) and identities around the Actor's bounds
        mode = data.draw(st.sampled_from(["negative", "positive", "seeded", "seeded", "wide"]))
        if mode == "negative":
            return data.draw(operation.as_strategy(GenerationMode.NEGATIVE))
        case: Case = data.draw(operation.as_strategy(GenerationMode.POSITIVE))
        if mode != "positive":
            wide = mode == "wide"
            for name in case.path_parameters or {}:
                if name in self.ids:
                    case.path_parameters[name] = data.draw(st.sampled_from(self.ids[name]))
            user, role = "u-fuzz", data.draw(st.sampled_from(ROLES))
            if wide:  # signed tokens whose subject and roles are around the Actor's bounds
                chars = st.characters(min_codepoint=33, max_codepoint=126)
                user = data.draw(
                    st.text(chars, min_size=1, max_size=8) | st.text(chars, min_size=120)
                )
                role = data.draw(st.sampled_from(ROLES) | st.text(chars, min_size=60))
            who = as_user(user, role, signs=False)  # any login, any role: never signs
            case.headers = {**(case.headers or {}), **who}
            if isinstance(case.body, dict):
                case.body = {k: self._seed_value(data, k, v, wide) for k, v in case.body.items()}
        return case

    def _seed_value(self, data: st.DataObject, name: str, value: Any, anywhere: bool) -> Any:
        """The journey's ids; dates and times around the clock inside the domain's windows
        (or, ``anywhere``, within the contracts' bounds)."""
        now = self.clock.current
        if name in self.ids:
            return data.draw(st.sampled_from(self.ids[name]))
        if name == "unit_ids":
            return data.draw(st.lists(st.sampled_from(self.ids["unit_id"]), min_size=1))
        if name == "earliest_collection":
            days = st.integers(min_value=-2, max_value=200)
            near = days.map(lambda d: now.date() + timedelta(days=d))
            edges = st.sampled_from([MIN_DATE, MAX_DATE, MAX_DATE - timedelta(days=20)])
            day = (edges | st.dates(MIN_DATE, MAX_DATE)) if anywhere else near
            return data.draw(day).isoformat()
        if name == "birth_date":
            return data.draw(st.dates(date(1900, 1, 1), now.date())).isoformat()
        if name.endswith("_at") or name == "at":
            minutes = st.integers(-10, 600) | st.integers(-10, 60 * 24 * 120)
            near = minutes.map(lambda m: now - timedelta(minutes=m))
            wide = st.sampled_from([MIN_INSTANT, MAX_INSTANT]) | st.datetimes(
                MIN_INSTANT.replace(tzinfo=None), MAX_INSTANT.replace(tzinfo=None)
            ).map(lambda t: t.replace(tzinfo=UTC))
            return data.draw(wide if anywhere else near).isoformat()
        if name == "readings" and isinstance(value, list):
            return [
                {"at": self._seed_value(data, "at", None, anywhere), "temperature_c": 4.0}
                for _ in value
            ]
        return value

    async def send(self, service: str, case: Case) -> httpx.Response:
        kw = case.as_transport_kwargs(base_url="http://svc")
        body: dict[str, Any] = {}
        if "json" in kw:
            body["json"] = kw["json"]
        for key in ("content", "data"):  # raw bodies (negative cases) as content
            if key in kw:
                raw = kw[key]
                body["content" if isinstance(raw, bytes | str) else "data"] = raw
        return await self.http[service].request(
            kw["method"],
            kw["url"],
            headers={k: str(v) for k, v in (kw.get("headers") or {}).items()},
            params=kw.get("params"),
            **body,
        )

    def consumers(self, message_type: type[Any]) -> Mapping[str, ServiceHarness]:
        return {n: h for n, h in self.h.items() if message_type in h.kit.spec.handlers}
