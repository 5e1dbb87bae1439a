"""The journey driver against stand-in services: a request the service applied but whose
answer was lost (its process killed) is repeated with the same Idempotency-Key and so acts
once; a service that cannot be reached is asked again until the driver's timeout."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from v2v_cli.journeys import (
    PROBLEM_APPLIED,
    Driver,
    Endpoints,
    JourneyError,
    Patient,
    Unreachable,
)

EP = Endpoints(
    custody="http://custody.test:1",
    logistics="http://logistics.test:2",
    batch="http://batch.test:3",
    qc="http://qc.test:4",
    issuer="http://idp.test:5/realms/vein2vein",
)


class Service:
    """Applies each Idempotency-Key once and replays its stored answer, as the services do;
    ``fail`` decides, per attempt, how the attempt goes wrong (None: it answers)."""

    def __init__(self) -> None:
        self.applied: dict[str, httpx.Response] = {}
        self.keys: list[str] = []
        self.attempts = 0
        self.fail: list[str | None] = []
        self.units: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/protocol/openid-connect/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 300})
        self.attempts += 1
        how = self.fail.pop(0) if self.fail else None
        if how == "refused":
            raise httpx.ConnectError("connection refused", request=request)
        if request.method == "GET":
            return httpx.Response(200, json=self.units)
        key = request.headers["Idempotency-Key"]
        self.keys.append(key)
        if key not in self.applied:
            self.applied[key] = httpx.Response(201, json={"coi": f"COI{len(self.applied) + 1}"})
        if how == "killed-after-commit":
            raise httpx.RemoteProtocolError("server disconnected", request=request)
        if how == "answer-not-recorded":
            problem = {"type": PROBLEM_APPLIED, "status": 409}
            return httpx.Response(409, text=json.dumps(problem))
        return self.applied[key]


def driver(service: Service, timeout: float = 5.0) -> Driver:
    client = httpx.AsyncClient(transport=httpx.MockTransport(service))
    return Driver(EP, log=lambda _: None, timeout=timeout, http=client, unreachable_s=timeout)


PATIENT = Patient("A Test", "1960-01-01", "MRN-1")


async def test_a_post_lost_in_a_kill_is_repeated_with_its_key_and_acts_once() -> None:
    service = Service()
    service.fail = ["killed-after-commit", "refused", "refused"]
    d = driver(service)
    assert await d.enroll(PATIENT) == "COI1"
    assert len(service.applied) == 1, "the repeat acted a second time"
    assert len(set(service.keys)) == 1 and len(service.keys) == 2
    assert d.stats.retries == {EP.custody: 3}


async def test_each_logical_post_has_its_own_key() -> None:
    service = Service()
    d = driver(service)
    assert [await d.enroll(PATIENT), await d.enroll(PATIENT)] == ["COI1", "COI2"]


async def test_an_applied_request_whose_answer_was_lost_is_read_back() -> None:
    service = Service()
    service.units = [
        {"kind": "apheresis", "unit_id": "U1", "din": "D1", "din_check": "A", "registered_at": "1"},
        {"kind": "apheresis", "unit_id": "U2", "din": "D2", "din_check": "B", "registered_at": "2"},
    ]
    # the collection booking the nurse waits for, listed by the same stand-in
    service.units.append({"kind": "collection", "attempt": 1, "status": "booked"})
    service.fail = [None, "answer-not-recorded"]  # the booking lookup, then the collection
    d = driver(service)
    got = await d.collect("COI1", PATIENT, 1)
    assert got["unit_id"] == "U2"
    assert d.stats.answers_lost == 1


async def test_a_service_away_longer_than_the_window_fails_the_step() -> None:
    service = Service()
    service.fail = ["refused"] * 100
    d = driver(service, timeout=0.5)
    with pytest.raises(Unreachable, match="unanswered for 0 s: ConnectError"):
        await d.enroll(PATIENT)
    assert service.attempts > 1


async def test_without_a_window_an_unreachable_service_is_asked_once() -> None:
    service = Service()
    service.fail = ["refused"] * 100
    client = httpx.AsyncClient(transport=httpx.MockTransport(service))
    d = Driver(EP, log=lambda _: None, timeout=60, http=client)
    with pytest.raises(Unreachable) as caught:
        await d.enroll(PATIENT)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert service.attempts == 1


def problem(status: int, code: str, **extra: Any) -> httpx.Response:
    body = {"type": f"urn:vein2vein:problem:{code}", "status": status, **extra}
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


def token_or(answer: Any) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/protocol/openid-connect/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 300})
        response: httpx.Response = answer(request)
        return response

    return handle


def driver_for(handle: Any) -> Driver:
    client = httpx.AsyncClient(transport=httpx.MockTransport(token_or(handle)))
    return Driver(EP, log=lambda _: None, timeout=5.0, http=client, unreachable_s=5.0)


async def test_an_enrolment_whose_answer_was_lost_is_found_by_enrolling_again() -> None:
    # The first enrolment committed, then its process died before recording the answer.
    # Custody refuses a second active enrolment of the patient, naming the first one's CoI.
    keys: list[str] = []

    def custody(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        if len(keys) == 1:
            return problem(409, "idempotency-request-applied")
        return problem(409, "patient-already-enrolled", coi="COI-FIRST")

    d = driver_for(custody)
    assert await d.enroll(PATIENT) == "COI-FIRST"
    assert len(set(keys)) == 2, "the second enrolment is a new request (a new key)"
    assert d.stats.answers_lost == 1


async def test_a_bag_custody_does_not_know_yet_is_scanned_again_until_it_does() -> None:
    # Custody registers a lot's bags when it consumes batch's lot.produced: under load or
    # while its consumer restarts, the bags may arrive at the treatment center first. Custody
    # records each refused scan (evidence) and answers its key with that refusal again: each
    # scan is a request of its own.
    refused: dict[str, httpx.Response] = {}

    def custody(request: httpx.Request) -> httpx.Response:
        key = request.headers["Idempotency-Key"]
        if key in refused:
            return refused[key]  # the refusal on record, replayed
        if len(refused) < 2:
            refused[key] = problem(422, "receipt-mismatch", reason="unknown-unit")
            return refused[key]
        return httpx.Response(201, json={"unit_id": "BAG1"})

    d = driver_for(custody)
    await d.receive("COI1", "BAG1", None, "treatment-center-1", "treatment-center")
    assert len(refused) == 2


async def test_another_refused_receipt_fails_the_step_at_once() -> None:
    calls: list[str] = []

    def custody(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return problem(422, "receipt-mismatch", reason="coi-mismatch")

    d = driver_for(custody)
    with pytest.raises(JourneyError, match="coi-mismatch"):
        await d.receive("COI1", "BAG1", None, "treatment-center-1", "treatment-center")
    assert len(calls) == 1


class Provider:
    """A stand-in for Keycloak with brute-force protection and a service that signs: a login
    of a user while another login of the same user is under way is refused, as Keycloak
    does — a service re-authenticating a signer is such a login."""

    def __init__(self) -> None:
        self.logging_in: set[str] = set()
        self.refused: list[str] = []
        self.logins = 0

    async def login(self, username: str) -> bool:
        if username in self.logging_in:
            self.refused.append(username)
            return False
        self.logging_in.add(username)
        await asyncio.sleep(0.01)
        self.logging_in.discard(username)
        self.logins += 1
        return True

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/protocol/openid-connect/token"):
            username = dict(httpx.QueryParams(request.content.decode()))["username"]
            await self.login(username)
            return httpx.Response(200, json={"access_token": "t", "expires_in": 30})
        body = json.loads(request.content)
        signature = body.get("signature")
        if signature is None:
            return problem(428, "signature-required", content_hash="h", field="signature")
        ok = await self.login(signature["username"])
        return httpx.Response(201, json={}) if ok else problem(403, "signature-failed")


async def test_a_person_signs_one_act_at_a_time_and_never_while_signing_in() -> None:
    # Keycloak refuses concurrent logins of one user under brute-force protection ("wrong
    # user id or password"), and counts them as failures: the run's concurrent journeys
    # share the demo people, whose signings collided (the reduced chaos run after the merge
    # of signatures). Tokens here expire at once: each request signs in again.
    provider = Provider()
    client = httpx.AsyncClient(transport=httpx.MockTransport(provider))
    d = Driver(EP, log=lambda _: None, timeout=5.0, http=client)
    url = f"{EP.batch}/batches/B1/steps"
    await asyncio.gather(*(d._signed(url, "specialist", {"step": str(i)}) for i in range(6)))
    # 6 signings, and a login before each of the 12 requests (428, then signed)
    assert provider.refused == [] and provider.logins == 18


async def test_a_bag_custody_does_not_know_yet_is_handed_over_once_it_does() -> None:
    # The final bags are handed to the courier at the manufacturing site: custody knows
    # them once its consumer applied batch's lot.produced (404 unit-not-found before).
    answers: list[int] = []

    def custody(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if len(answers) < 2:
            answers.append(404)
            return problem(404, "unit-not-found")
        if "signature" not in body:
            answers.append(428)
            return problem(428, "signature-required", content_hash="h", field="signature")
        if "counter_signature" not in body:
            answers.append(428)
            return problem(428, "signature-required", content_hash="h", field="counter_signature")
        answers.append(201)
        return httpx.Response(201, json={"transfer_id": "T1"})

    d = driver_for(custody)
    await d.hand_over("BAG1", "manufacturing-site-1", "materials-handler", "courier", -180.0)
    assert answers == [404, 404, 428, 428, 201]
