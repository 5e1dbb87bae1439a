"""Drive patient journeys through the services' public HTTP APIs only, doing what the
people do: coordinators enroll, apheresis centers collect, couriers ship, specialists
manufacture, QC analysts test and QC reviewers review, QA releases, treatment centers receive
and infuse. GMP acts are signed as people sign them (user id and password re-entered).

Used by ``v2v demo`` and by the end-to-end tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import httpx

from v2v_cli.tokens import DEMO_PASSWORD, TokenBroker, TokenRequestError

T = TypeVar("T")

# The people of the demo realm (deploy/keycloak/vein2vein-realm.json) who do each step, by
# role; the driver signs in as the one of the site where the step happens (demo_person).
COORDINATOR = "treatment-center-coordinator"
APHERESIS_NURSE = "apheresis-nurse"
LOGISTICS = "logistics-coordinator"
COURIER = "courier"
RECEIVER = "materials-handler"
SPECIALIST = "cell-therapy-specialist"
ANALYST = "qc-analyst"
QC_REVIEWER = "qc-reviewer"
QA_REVIEWER = "qa-reviewer"
NURSE = "infusion-nurse"
SUPERVISOR = "manufacturing-supervisor"
COURIER_COMPANY = "cryo-courier-eu"  # the party custody hands units to for transport

STEPS = (
    "selection",
    "activation",
    "transduction",
    "expansion",
    "harvest",
    "formulation",
    "cryopreservation",
)


# Answers that mean "not now, ask again": a proxy or a restarting service in between.
RETRIED_STATUSES = frozenset({502, 503, 504})
PROBLEM = "urn:vein2vein:problem:"
PROBLEM_APPLIED = f"{PROBLEM}idempotency-request-applied"
PROBLEM_KEY_IN_USE = f"{PROBLEM}idempotency-key-in-use"


class JourneyError(RuntimeError):
    pass


class Unreachable(JourneyError):
    """A service (or the sign-in) could not be reached for the driver's whole window."""


@dataclass
class CallStats:
    """What the driver met on the way: requests repeated, answers lost, and when each
    service last answered (the chaos run reads these while it kills processes)."""

    retries: dict[str, int] = field(default_factory=dict)  # by service base URL
    last_answer: dict[str, float] = field(default_factory=dict)  # time.monotonic()
    answers_lost: int = 0

    @staticmethod
    def base(url: str) -> str:
        parts = httpx.URL(url)
        return f"{parts.scheme}://{parts.host}:{parts.port}"

    def retried(self, url: str) -> None:
        base = self.base(url)
        self.retries[base] = self.retries.get(base, 0) + 1

    def answered(self, url: str) -> None:
        self.last_answer[self.base(url)] = time.monotonic()


def _key_in_use(resp: httpx.Response) -> bool:
    """A concurrent twin of this request (same key) was applied: ask again for its answer."""
    return resp.status_code == 409 and PROBLEM_KEY_IN_USE in resp.text


@dataclass(frozen=True)
class Endpoints:
    custody: str = "http://127.0.0.1:8101"
    logistics: str = "http://127.0.0.1:8102"
    batch: str = "http://127.0.0.1:8103"
    qc: str = "http://127.0.0.1:8104"
    issuer: str = "http://127.0.0.1:8180/realms/vein2vein"  # the local stack's Keycloak


@dataclass
class Patient:
    name: str
    birth_date: str
    mrn: str
    product_code: str = "S9DEMO"
    therapy: str = "CAR-T"
    weight_kg: float = 70.0
    # names from the packaged logistics network configuration (network.v1.json)
    treatment_center: str = "treatment-center-1"
    apheresis_center: str = "apheresis-center-1"
    manufacturing_site: str = "manufacturing-site-1"
    earliest_collection: date | None = None  # today unless given


@dataclass
class Plan:
    """What happens in this journey; the defaults give the straight path."""

    oos_attempts: set[int] = field(default_factory=set)  # manufacturing attempts failing QC
    retained_aliquots: int = 1
    late_collection_attempts: set[int] = field(default_factory=set)  # receipt never scanned
    # attempts whose lot manufacturing finds failed after QA released it; QA then decides
    # re-manufacture from retained material
    withdrawn_after_release: set[int] = field(default_factory=set)


def demo_person(role: str, site: str) -> str:
    """The demo realm's user with ``role`` at ``site``: ``<role>`` works at the first site's
    centers, ``<role>-site2`` at the second's (docs/local-stack.md, demo users)."""
    return f"{role}-site2" if site.endswith("-2") else role


def now() -> str:
    return datetime.now(UTC).isoformat()


class Driver:
    def __init__(
        self,
        endpoints: Endpoints,
        log: Callable[[str], None] = print,
        timeout: float = 120.0,
        person: Callable[[str, str], str] = demo_person,
        http: httpx.AsyncClient | None = None,
        unreachable_s: float = 0.0,
    ) -> None:
        self.ep = endpoints
        # how long a service that cannot be reached is asked again (0: once); the chaos
        # run waits out restarts, the demo says at once that the platform is not up
        self.unreachable_s = unreachable_s
        self.person = person  # (role, site) -> who signs in
        self.log = log
        self.timeout = timeout
        self.http = http or httpx.AsyncClient(timeout=30)
        self.tokens = TokenBroker(endpoints.issuer, self.http)
        self.stats = CallStats()

    async def close(self) -> None:
        await self.http.aclose()

    async def headers(self, who: str) -> dict[str, str]:
        """Signed in as ``who`` (a demo realm user): one login each, renewed near expiry."""
        try:
            token = await self.tokens.for_user(who)
        except TokenRequestError as exc:
            raise JourneyError(f"{who} could not sign in at {self.ep.issuer}: {exc}") from exc
        return {"Authorization": f"Bearer {token}"}

    # --- plumbing --------------------------------------------------------------------------

    async def _request(
        self, method: str, url: str, who: str, json: Any = None, key: str | None = None
    ) -> httpx.Response:
        """One request, repeated while the service cannot be reached (restarting, a process
        killed mid-request) for ``unreachable_s``. A POST carries one Idempotency-Key on every
        attempt: an attempt applied before its answer was lost is answered from its record
        on the next one, never applied twice (docs/integrators.md)."""
        headers: dict[str, str] = {}
        if method == "POST":
            headers["Idempotency-Key"] = key or str(uuid.uuid4())
        deadline = time.monotonic() + self.unreachable_s
        pause = 0.25
        while True:
            try:
                resp = await self.http.request(
                    method, url, headers={**headers, **await self.headers(who)}, json=json
                )
                if resp.status_code not in RETRIED_STATUSES and not _key_in_use(resp):
                    self.stats.answered(url)
                    return resp
                if time.monotonic() >= deadline:
                    return resp  # the caller says what the answer was
            except httpx.TransportError as exc:
                if time.monotonic() >= deadline:
                    waited = f" for {self.unreachable_s:.0f} s" if self.unreachable_s else ""
                    raise Unreachable(
                        f"{method} {url} unanswered{waited}: {type(exc).__name__}: {exc}"
                    ) from exc
            self.stats.retried(url)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)

    async def _call(
        self,
        method: str,
        url: str,
        who: str,
        json: Any = None,
        ok: tuple[int, ...] = (200, 201),
        applied: Callable[[], Awaitable[Any]] | None = None,
    ) -> Any:
        """The JSON answer. ``applied`` finds the outcome when the service says the request
        was applied but its answer is lost (it failed in between): GET what it made."""
        resp = await self._request(method, url, who, json)
        return await self._answer(method, url, resp, ok, applied)

    async def _answer(
        self,
        method: str,
        url: str,
        resp: httpx.Response,
        ok: tuple[int, ...] = (200, 201),
        applied: Callable[[], Awaitable[Any]] | None = None,
    ) -> Any:
        if resp.status_code == 409 and PROBLEM_APPLIED in resp.text:
            self.stats.answers_lost += 1
            self.log(f"{method} {url}: applied, answer lost; reading the outcome instead")
            return await applied() if applied is not None else {}
        if resp.status_code not in ok:
            raise JourneyError(f"{method} {url} -> {resp.status_code}: {resp.text}")
        return resp.json()

    async def _signed(
        self,
        url: str,
        who: str,
        body: dict[str, Any],
        signer: str | None = None,
        also: Mapping[str, str] | None = None,
    ) -> Any:
        """A signed act, as people sign it: the service shows each signer the content (428,
        naming the request field it is for), each signs its hash with their own user id and
        password (re-authenticated at the provider by the service). ``who`` is signed in;
        ``signer`` (by default ``who``; or another person on the same tablet) signs
        ``signature``; ``also`` names who signs the act's other fields (a handoff's
        receiving party, on the same tablet: ``counter_signature``)."""
        resp = await self._signed_request(url, who, body, signer, also)
        return await self._answer("POST", url, resp)

    async def _signed_request(
        self,
        url: str,
        who: str,
        body: dict[str, Any],
        signer: str | None = None,
        also: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The service's answer to the signed act (see ``_signed``), or the first answer
        that does not ask for a signature (a refusal). Each request is repeated while the
        service cannot be reached (``_request``)."""
        signers = {"signature": signer or who, **(also or {})}
        sent = dict(body)
        refused = 0
        while True:
            # One password grant per person at a time (the service re-authenticates each
            # signer at Keycloak, which refuses concurrent grants of one user): the journeys
            # walked in parallel take turns per signer, in a fixed order, while a request
            # carries their passwords.
            carrying = [signers[name] for name in signers if name in sent]
            async with contextlib.AsyncExitStack() as turns:
                for person in sorted(set(carrying)):
                    await turns.enter_async_context(self.tokens.person_lock(person))
                shown = await self._request("POST", url, who, sent)
            if shown.status_code == 428:
                name = shown.json().get("field", "signature")
                if name not in signers or name in sent:
                    raise JourneyError(f"POST {url} -> 428 for {name!r} again: {shown.text}")
                sent[name] = {
                    "content_hash": shown.json()["content_hash"],
                    "username": signers[name],
                    "password": DEMO_PASSWORD,
                }
            elif _problem(shown) == f"{PROBLEM}signature-authentication-failed" and refused < 2:
                # Keycloak now and then refuses a demo user's right password when grants of
                # that user come close together (its brute-force protection); the refusal is
                # recorded by the service, and the person types it again.
                refused += 1
                self.log(f"{url}: the provider refused {sorted(set(carrying))}; again")
                await asyncio.sleep(1.5 * refused)
            else:
                return shown

    async def _signed_once_known(
        self,
        unit_id: str,
        url: str,
        who: str,
        body: dict[str, Any],
        unknown: Callable[[httpx.Response], bool],
        also: Mapping[str, str] | None = None,
    ) -> Any:
        """A signed act on a unit, done again (anew) while custody answers it does not know
        the unit: custody registers a lot's bags when it consumes batch's lot.produced, so
        they can reach the next step first (its consumer restarting, or busy)."""

        async def done() -> Any:
            resp = await self._signed_request(url, who, body, also=also)
            return None if unknown(resp) else await self._answer("POST", url, resp)

        return await self._until(f"custody to know unit {unit_id}", done)

    async def _until(
        self, what: str, probe: Callable[[], Awaitable[T | None]], wait_s: float | None = None
    ) -> T:
        deadline = time.monotonic() + (wait_s or self.timeout)
        while True:
            found = await probe()
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise JourneyError(f"timed out waiting for {what}")
            await asyncio.sleep(0.3)

    # --- people's steps --------------------------------------------------------------------

    async def enroll(self, p: Patient) -> str:
        body = {
            "name": p.name,
            "birth_date": p.birth_date,
            "medical_record_number": p.mrn,
            "therapy": p.therapy,
            "product_code": p.product_code,
            "autologous": True,
            "treatment_center": p.treatment_center,
            "apheresis_center": p.apheresis_center,
            "manufacturing_site": p.manufacturing_site,
            "patient_weight_kg": p.weight_kg,
            "earliest_collection": (p.earliest_collection or datetime.now(UTC).date()).isoformat(),
        }
        coordinator = self.person(COORDINATOR, p.treatment_center)
        url = f"{self.ep.custody}/patients"

        async def enrolled_as() -> dict[str, Any]:
            # Custody refuses a second active enrolment of the patient, naming the CoI the
            # first one issued: asking again (a new request, a new key) tells it.
            resp = await self._request("POST", url, coordinator, body)
            if resp.status_code == 409 and _problem(resp) == f"{PROBLEM}patient-already-enrolled":
                return {"coi": resp.json()["coi"]}
            raise JourneyError(f"enrolment applied, its CoI lost; asking again: {resp.text}")

        out = await self._call("POST", url, coordinator, body, applied=enrolled_as)
        coi = str(out["coi"])
        self.log(f"{coi}: enrolled ({p.therapy}, {p.product_code})")
        return coi

    async def collect(self, coi: str, p: Patient, attempt: int) -> dict[str, Any]:
        nurse = self.person(APHERESIS_NURSE, p.apheresis_center)

        async def booked() -> dict[str, Any] | None:
            rows = await self._call("GET", f"{self.ep.logistics}/bookings?coi={coi}", nurse)
            for b in rows:
                if (
                    b.get("kind") == "collection"
                    and b.get("attempt") == attempt
                    and b.get("status") != "cancelled"
                ):
                    return dict(b)
            return None

        await self._until(f"collection booking {attempt} of {coi}", booked)
        start = datetime.now(UTC) - timedelta(hours=3)  # the collection just ended
        out = await self._call(
            "POST",
            f"{self.ep.custody}/patients/{coi}/collections",
            nurse,
            {
                "apheresis_center": p.apheresis_center,
                "volume_ml": 240.0,
                "total_nucleated_cells": 1.2e10,
                "collection_started_at": start.isoformat(),
                "collection_ended_at": (start + timedelta(hours=3)).isoformat(),
            },
            applied=lambda: self._newest_apheresis_unit(coi, nurse),
        )
        self.log(f"{coi}: collected, DIN {out['din']}{out['din_check']} unit {out['unit_id']}")
        return dict(out)

    async def shipment(
        self, coi: str, direction: str, attempt: int, courier: str
    ) -> dict[str, Any]:
        async def find() -> dict[str, Any] | None:
            url = f"{self.ep.logistics}/shipments?coi={coi}&direction={direction}"
            rows = await self._call("GET", url, courier)
            for s in rows:
                if s.get("attempt") == attempt and s.get("status") == "booked":
                    return dict(s)
            return None

        return await self._until(f"{direction} shipment {attempt} of {coi}", find)

    async def ship(
        self,
        coi: str,
        p: Patient,
        direction: str,
        attempt: int,
        temps: list[float],
        units: Sequence[str] = (),
    ) -> None:
        # the courier serving where the shipment starts
        origin = p.apheresis_center if direction == "inbound" else p.manufacturing_site
        courier = self.person(COURIER, origin)
        s = await self.shipment(coi, direction, attempt, courier)
        sid = s["shipment_id"]
        releasing = self.person(APHERESIS_NURSE if direction == "inbound" else RECEIVER, origin)
        for unit_id in units:
            await self.hand_over(unit_id, origin, releasing, courier, temps[0])
        picked = datetime.now(UTC) - timedelta(minutes=len(temps) * 10 + 5)
        await self._call(
            "POST",
            f"{self.ep.logistics}/shipments/{sid}/pickup",
            courier,
            {"courier": COURIER_COMPANY, "picked_up_at": picked.isoformat()},
        )
        readings = [
            {"at": (picked + timedelta(minutes=10 * (i + 1))).isoformat(), "temperature_c": t}
            for i, t in enumerate(temps)
        ]
        await self._call(
            "POST",
            f"{self.ep.logistics}/shipments/{sid}/delivery",
            courier,
            {"delivered_at": now(), "readings": readings},
        )
        self.log(f"{coi}: {direction} shipment {sid} delivered")

    async def hand_over(
        self, unit_id: str, site: str, releasing: str, receiving: str, temperature_c: float
    ) -> None:
        """The site hands the unit to the courier in person, both signing on one tablet: the
        site's person (performed), then the courier (received)."""
        body = {
            "unit_id": unit_id,
            "from_party": site,
            "to_party": COURIER_COMPANY,
            "location": site,
            "temperature_c": temperature_c,
        }

        def unknown(resp: httpx.Response) -> bool:
            return resp.status_code == 404 and _problem(resp) == f"{PROBLEM}unit-not-found"

        url = f"{self.ep.custody}/transfers"
        also = {"counter_signature": receiving}
        await self._signed_once_known(unit_id, url, releasing, body, unknown, also)
        self.log(f"{unit_id}: handed over to {COURIER_COMPANY} at {site}")

    async def receive(
        self, coi: str, unit_id: str, din: str | None, location: str, kind: str
    ) -> None:
        body = {
            "unit_id": unit_id,
            "scanned_coi": coi,
            "location": location,
            "location_kind": kind,
            "temperature_c": 4.0 if kind != "treatment-center" else -180.0,
            "minutes_out_of_storage": 5.0,
        }
        if din:
            body["scanned_din"] = din
        # a manufacturing site's materials handler; at a treatment center, its coordinator;
        # who receives signs the receipt
        who = self.person(COORDINATOR if kind == "treatment-center" else RECEIVER, location)

        def unknown(resp: httpx.Response) -> bool:
            # Refused, and on record (its key answers the refusal again): scan again, anew.
            return resp.status_code == 422 and _reason(resp) == "unknown-unit"

        await self._signed_once_known(unit_id, f"{self.ep.custody}/receipts", who, body, unknown)
        self.log(f"{coi}: {unit_id} received at {location}")

    async def manufacture(self, coi: str, site: str, attempt: int, retained: int) -> dict[str, Any]:
        """The site's specialist performs and signs each step; the site's supervisor, a
        second person, verifies those the batch's configuration names, signing on the
        specialist's tablet; then the lot."""
        specialist = self.person(SPECIALIST, site)
        supervisor = self.person(SUPERVISOR, site)

        async def opened() -> dict[str, Any] | None:
            rows = await self._call("GET", f"{self.ep.batch}/batches?coi={coi}", specialist)
            for b in rows:
                if b.get("attempt") == attempt:
                    return dict(b)
            return None

        b = await self._until(f"batch {attempt} of {coi}", opened)
        bid = b["batch_id"]
        t = datetime.now(UTC) - timedelta(hours=len(STEPS) + 1)
        for i, step in enumerate(STEPS):
            body: dict[str, Any] = {
                "step": step,
                "equipment_id": f"EQ-{step[:4].upper()}-01",
                "started_at": (t + timedelta(hours=i)).isoformat(),
                "ended_at": (t + timedelta(hours=i, minutes=50)).isoformat(),
                "viable_cell_count": 1.0e9,
                "viability_pct": 88.0,
            }
            if step == "selection" and b.get("source") != "retained-apheresis":
                body["retained_aliquots"] = retained
            steps = f"{self.ep.batch}/batches/{bid}/steps"
            done = await self._signed(steps, specialist, body)
            if done.get("verification_required"):
                url = f"{steps}/{step}/verification"
                await self._signed(url, specialist, {}, signer=supervisor)
        lot = await self._call(
            "POST",
            f"{self.ep.batch}/batches/{bid}/lot",
            specialist,
            {"bag_count": 2, "total_viable_cells": 3.0e8, "viability_pct": 88.0},
            applied=lambda: self._lot_of(bid, specialist),
        )
        self.log(f"{coi}: batch {bid} ({b.get('source')}) -> lot {lot['lot_id']}")
        return dict(lot)

    async def test_lot(
        self, coi: str, site: str, lot_id: str, product_code: str, oos: bool
    ) -> dict[str, Any]:
        analyst = self.person(ANALYST, site)

        async def ordered() -> dict[str, Any] | None:
            rows = await self._call("GET", f"{self.ep.qc}/panels?lot_id={lot_id}", analyst)
            return dict(rows[0]) if rows else None

        panel = await self._until(f"QC panel for {lot_id}", ordered)
        pid = panel["panel_id"]
        spec = await self._call("GET", f"{self.ep.qc}/specs/{product_code}", analyst)
        tests = {t["code"]: t for t in spec["tests"]}
        while True:  # re-read: QC computes some results itself (e.g. the dose)
            current = await self._call("GET", f"{self.ep.qc}/panels/{pid}", analyst)
            entered = [c for c in current["pending"] if tests[c].get("kind") != "dose"]
            if not entered:
                break
            code = entered[0]
            value = passing_value(tests[code])
            if oos and code == "viability":
                value = float(tests[code]["min"]) - 12.0
            await self._signed(  # the analyst signs each result entered (performed)
                f"{self.ep.qc}/panels/{pid}/results",
                analyst,
                {"test_code": code, "value": value, "unit": tests[code].get("unit")},
            )

        async def evaluated() -> dict[str, Any] | None:
            got = await self._call("GET", f"{self.ep.qc}/panels/{pid}", analyst)
            return dict(got) if got.get("status") != "ordered" else None

        done = await self._until(f"evaluation of panel {pid}", evaluated)
        # a second person, the site's QC reviewer, reviews the results (signed: reviewed)
        reviewed = await self._signed(
            f"{self.ep.qc}/panels/{pid}/review",
            self.person(QC_REVIEWER, site),
            {"comment": "raw data, calculations and entries checked"},
        )
        self.log(f"{coi}: QC panel {pid}: {done['status']}, review {reviewed['review_status']}")
        return dict(reviewed)

    async def release(self, coi: str, site: str, lot_id: str) -> str:
        """QA reviews the lot's audit trail (batch, custody, QC), then releases it, both
        signed; a trail that moves in between (a late record) is reviewed again."""
        qa = self.person(QA_REVIEWER, site)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                await self.review_trail(coi, qa, lot_id)
                out = await self._signed(
                    f"{self.ep.qc}/lots/{lot_id}/decision",
                    qa,
                    {
                        "decision": "release",
                        "reason": "batch record, deviations, QC results and audit trail reviewed",
                    },
                )
                break
            except JourneyError as exc:
                if "audit-trail-review-stale" not in str(exc) or time.monotonic() > deadline:
                    raise
                self.log(f"{coi}: records moved during the trail review of {lot_id}: again")
                await asyncio.sleep(0.5)
        self.log(f"{coi}: lot {lot_id} released, certificate {out.get('certificate_id')}")
        return str(out.get("certificate_id"))

    async def review_trail(self, coi: str, qa: str, lot_id: str) -> None:
        """QA's audit-trail review: each service's part as its audit trail shows it."""
        parts = []
        for service, base in (
            ("batch", self.ep.batch),
            ("custody", self.ep.custody),
            ("qc", self.ep.qc),
        ):
            trail = await self._call("GET", f"{base}/audit-trail?coi={coi}&limit=1", qa)
            head = trail.get("head")
            if head is None:
                raise JourneyError(f"{service} shows {qa} no audit trail of {coi}")
            parts.append({"service": service, "position": head["position"], "hash": head["hash"]})
        body = {"parts": parts, "comment": "batch, custody and QC trails reviewed; no findings"}
        await self._signed(f"{self.ep.qc}/lots/{lot_id}/audit-trail-review", qa, body)

    async def withdraw_and_decide(self, coi: str, site: str, lot_id: str, decision: str) -> None:
        """Manufacturing finds a released lot failed (a record, not a disposition: QC holds
        the lot); once QC knows it, QA decides how to go on."""
        await self._call(
            "POST",
            f"{self.ep.batch}/lots/{lot_id}/manufacturing-failure",
            self.person(SUPERVISOR, site),
            {"reason": "bag integrity failure found at final inspection"},
        )
        self.log(f"{coi}: manufacturing found released lot {lot_id} failed")
        await self.decide_recovery(coi, site, lot_id, decision)

    async def decide_recovery(self, coi: str, site: str, lot_id: str, decision: str) -> None:
        """QA decides how the journey goes on after ``lot_id`` failed (signed), once QC knows
        it failed; the journey waits for this decision and never takes it."""

        async def decided() -> dict[str, Any] | None:
            resp = await self.recovery_decision(
                site, lot_id, decision, "retained material suitable; TC agrees"
            )
            if resp.status_code == 409 and "lot-not-failed" in resp.text:
                return None  # QC has not yet consumed batch's manufacturing.failed
            if resp.status_code == 409 and PROBLEM_APPLIED in resp.text:
                return {}  # decided; the answer was lost in a failure
            if resp.status_code != 201:
                raise JourneyError(f"recovery decision on {lot_id}: {resp.text}")
            return dict(resp.json())

        await self._until(f"QC to take a recovery decision on {lot_id}", decided)
        self.log(f"{coi}: QA decided {decision} after lot {lot_id} failed")

    async def recovery_decision(
        self, site: str, lot_id: str, decision: str, reason: str
    ) -> httpx.Response:
        """QA's recovery decision on a failed lot, signed (approved): QC's answer."""
        return await self._signed_request(
            f"{self.ep.qc}/lots/{lot_id}/recovery-decision",
            self.person(QA_REVIEWER, site),
            {"decision": decision, "reason": reason},
        )

    async def released_in_custody(self, center: str, bag_ids: Sequence[str]) -> None:
        """Custody knows QA released the bags' lot (it learns it from QC's lot.released):
        the nurse sees it on the unit before thawing it."""
        nurse = self.person(NURSE, center)

        async def released() -> bool | None:
            units = [
                await self._call("GET", f"{self.ep.custody}/units/{b}", nurse) for b in bag_ids
            ]
            return True if all(u.get("lot_disposition") == "released" for u in units) else None

        await self._until(f"custody to know the release of {', '.join(bag_ids)}", released)

    async def thaw(self, coi: str, center: str, bag_id: str, started: str | None = None) -> Any:
        """The infusion nurse records that the bag's thaw started, signed (performed)."""
        return await self._signed(
            f"{self.ep.custody}/patients/{coi}/units/{bag_id}/thaw",
            self.person(NURSE, center),
            {"thaw_started_at": started or now()},
        )

    async def infuse(self, coi: str, center: str, bag_ids: list[str]) -> None:
        """The nurse thaws the bags (once custody shows them released), then infuses them;
        the thaw-to-infusion time runs from the recorded thaw."""
        await self.released_in_custody(center, bag_ids)
        for bag in bag_ids:
            await self.thaw(coi, center, bag)
        await self._signed(  # signed by the infusing nurse
            f"{self.ep.custody}/patients/{coi}/infusions",
            self.person(NURSE, center),
            {"unit_ids": bag_ids, "infused_at": now()},
        )
        self.log(f"{coi}: thawed and infused")

    # --- a whole journey -----------------------------------------------------------------------

    async def journey(self, p: Patient, plan: Plan, coi: str | None = None) -> str:
        coi = coi or await self.enroll(p)
        await self.collected_and_received(coi, p, plan)
        ms = p.manufacturing_site
        attempt = await self._current_attempt(coi, ms)
        while True:
            lot, attempt = await self.in_specification(coi, p, plan, attempt)
            await self.release(coi, ms, lot["lot_id"])
            if attempt not in plan.withdrawn_after_release:
                break
            await self.withdraw_and_decide(coi, ms, lot["lot_id"], "remanufacture")
            attempt += 1
        await self.delivered(coi, p, attempt, lot)
        await self.infuse(coi, p.treatment_center, lot["bag_ids"])
        return coi

    async def collected_and_received(self, coi: str, p: Patient, plan: Plan) -> None:
        """Collected, shipped and received at manufacturing (collected again while the plan
        holds a receipt back past the stability window)."""
        collection = 1
        while True:
            col = await self.collect(coi, p, collection)
            await self.ship(coi, p, "inbound", collection, [4.1, 4.6, 5.2, 4.8], [col["unit_id"]])
            if collection in plan.late_collection_attempts:
                self.log(f"{coi}: receipt of {col['unit_id']} held back: the window will pass")
                collection += 1
                continue
            await self.receive(
                coi, col["unit_id"], col["din"], p.manufacturing_site, "manufacturing-site"
            )
            return

    async def in_specification(
        self, coi: str, p: Patient, plan: Plan, attempt: int
    ) -> tuple[dict[str, Any], int]:
        """Manufactured and tested from ``attempt`` on until a lot is in specification (QA
        has not decided on it yet): the lot and its attempt."""
        ms = p.manufacturing_site
        while True:
            lot = await self.manufacture(coi, ms, attempt, plan.retained_aliquots)
            panel = await self.test_lot(
                coi, ms, lot["lot_id"], p.product_code, oos=attempt in plan.oos_attempts
            )
            if panel["status"] == "in-specification":
                return lot, attempt
            # out of specification: people decide; here, re-manufacture from retained material
            await self.decide_recovery(coi, ms, lot["lot_id"], "remanufacture")
            attempt += 1

    async def delivered(self, coi: str, p: Patient, attempt: int, lot: dict[str, Any]) -> None:
        """The released lot shipped to the treatment center and each bag received there."""
        await self.ship(coi, p, "outbound", attempt, [-186.0, -183.5, -181.2], lot["bag_ids"])
        for bag in lot["bag_ids"]:
            await self.receive(coi, bag, None, p.treatment_center, "treatment-center")

    async def _current_attempt(self, coi: str, site: str) -> int:
        async def opened() -> int | None:
            rows = await self._call(
                "GET", f"{self.ep.batch}/batches?coi={coi}", self.person(SPECIALIST, site)
            )
            return max((int(b["attempt"]) for b in rows), default=None)

        return await self._until(f"a batch for {coi}", opened)

    # --- outcomes of requests whose answer was lost -------------------------------------------

    async def _newest_apheresis_unit(self, coi: str, who: str) -> dict[str, Any]:
        units = await self._call("GET", f"{self.ep.custody}/patients/{coi}/units", who)
        apheresis = [u for u in units if u["kind"] == "apheresis"]
        if not apheresis:
            raise JourneyError(f"{coi}: collection applied, but no apheresis unit is listed")
        return dict(max(apheresis, key=lambda u: str(u["registered_at"])))

    async def _lot_of(self, batch_id: str, who: str) -> dict[str, Any]:
        record = await self._call("GET", f"{self.ep.batch}/batches/{batch_id}", who)
        if not record.get("lot"):
            raise JourneyError(f"lot of batch {batch_id} applied, but the batch shows none")
        return dict(record["lot"])


def _problem(resp: httpx.Response) -> str:
    """The problem type of an RFC 9457 answer ("" for any other answer)."""
    return str(_problem_body(resp).get("type", ""))


def _reason(resp: httpx.Response) -> str:
    return str(_problem_body(resp).get("reason", ""))


def _problem_body(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# CAR+ % sets the dose: 3e8 viable cells x 40 % / 70 kg = 1.7e6 CAR+ cells/kg, in range.
TYPICAL = {"car_pos": 40.0}


def passing_value(test: dict[str, Any]) -> float | str:
    """A result inside the test's limit (from the product specification)."""
    if test["code"] in TYPICAL:
        return TYPICAL[test["code"]]
    accepted = test.get("accepted") or test.get("accepted_values")
    if accepted:
        return str(accepted[0])
    lo, hi = test.get("min"), test.get("max")
    if lo is not None and hi is not None:
        return (float(lo) + float(hi)) / 2
    if lo is not None:
        return float(lo) * 1.25 if float(lo) > 0 else 1.0
    if hi is not None:
        return float(hi) / 2
    raise JourneyError(f"cannot pick a passing value for {test}")
