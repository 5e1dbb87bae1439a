"""What the POST scenarios of every service share: the request under test and helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from v2v_events.contracts.batch import LotProduced
from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import PatientEnrolled
from v2v_events.contracts.qc import LotReleased
from v2v_runtime.authz import Roles as R
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import (
    SeqIds,
    ServiceHarness,
    StepClock,
    as_user,
    cosigned,
    signing_password,
    token_username,
)

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # the harness clocks' start
COI = "CHA1B2C26000001"  # the first CoI custody issues (facility A1B2C)
SYSTEM = Actor(user_id="journey", role="system")
# The people who make each call: signed-in users with the role the route asks for.
Who = dict[str, str]
COORDINATOR = as_user("u-coord", R.TREATMENT_CENTER_COORDINATOR)
APHERESIS_NURSE = as_user("u-aph", R.APHERESIS_NURSE)
MATERIALS_HANDLER = as_user("u-recv", R.MATERIALS_HANDLER)
INFUSION_NURSE = as_user("u-inf", R.INFUSION_NURSE)
COURIER = as_user("u-courier", R.COURIER)
LOGISTICS = as_user("u-log", R.LOGISTICS_COORDINATOR)
SPECIALIST = as_user("u-cts", R.CELL_THERAPY_SPECIALIST)
SUPERVISOR = as_user("u-sup", R.MANUFACTURING_SUPERVISOR, name="Sam Supervisor")  # as QC's
ANALYST = as_user("u-qc", R.QC_ANALYST)
QC_REVIEWER = as_user("u-qcr", R.QC_REVIEWER)
QA = as_user("u-qa", R.QA_REVIEWER)
QP = as_user("u-qp", R.QUALIFIED_PERSON)


@dataclass
class Call:
    """The request under test: path, JSON body and who calls."""

    path: str
    body: dict[str, Any]
    headers: Who


# Brings a started service to where the operation succeeds; returns the request to make.
Scenario = Callable[[ServiceHarness, httpx.AsyncClient], Awaitable[Call]]


def clock_and_ids(service: str) -> tuple[StepClock, SeqIds]:
    return StepClock(NOW, tick=timedelta(seconds=1)), SeqIds(service)


async def ok(client: httpx.AsyncClient, path: str, body: dict[str, Any], who: Who) -> Any:
    r = await client.post(path, json=body, headers=who)
    assert r.is_success, r.text
    return r.json()


async def signed_ok(
    client: httpx.AsyncClient,
    path: str,
    body: dict[str, Any],
    who: Who,
    signer: str | None = None,
    also: dict[str, Who] | None = None,
) -> Any:
    """A signed act of ``who``'s session, signed by ``signer`` (a login; by default ``who``)
    in ``signature``; ``also``: who signs the act's other fields (e.g. a handoff's receiving
    party, ``counter_signature``)."""
    r = await cosigned(client, path, body, who, signers=_logins(who, signer, also))
    assert r.is_success, r.text
    return r.json()


async def signed_call(
    client: httpx.AsyncClient,
    path: str,
    body: dict[str, Any],
    who: Who,
    signer: str | None = None,
    also: dict[str, Who] | None = None,
) -> Call:
    """The request of a signed act, as sent once each signer has seen their content (428)
    and signed it: ``signer`` (by default ``who``) in ``signature``, ``also`` in the fields
    they name."""
    logins = _logins(who, signer, also)
    sent = dict(body)
    while any(field not in sent for field in logins):
        shown = await client.post(path, json=sent, headers=who)
        assert shown.status_code == 428, shown.text
        field = shown.json().get("field", "signature")
        sent[field] = {
            "content_hash": shown.json()["content_hash"],
            "username": logins[field],
            "password": signing_password(logins[field]),
        }
    return Call(path, sent, who)


def _logins(who: Who, signer: str | None, also: dict[str, Who] | None) -> dict[str, str]:
    others = {field: token_username(person) for field, person in (also or {}).items()}
    return {"signature": signer or token_username(who), **others}


async def deliver(h: ServiceHarness, message: Any) -> None:
    assert await h.deliver(message, subject=message.coi) is Outcome.PROCESSED


def lot_produced(lot_id: str, bags: list[str], site: str) -> LotProduced:
    return LotProduced(
        coi=COI,
        batch_id=f"batch-{lot_id}",
        lot_id=lot_id,
        bag_ids=bags,
        total_viable_cells=4.6e8,
        viability_pct=88.0,
        retained_aliquots_remaining=1,
        manufacturing_site=site,
        produced_at=NOW - timedelta(days=1),
        expires_at=NOW + timedelta(days=365),
        actor=SYSTEM,
    )


def patient_enrolled(treatment_center: str) -> PatientEnrolled:
    """Custody's enrolment of the patient of COI, as the other services hear of it."""
    return PatientEnrolled(
        coi=COI,
        therapy="CAR-T",
        product_code="S1234",
        autologous=True,
        treatment_center=treatment_center,
        apheresis_center="AC-1",
        manufacturing_site="MS-1",
        patient_weight_kg=70.0,
        earliest_collection=(NOW + timedelta(days=2)).date(),
        enrolled_at=NOW - timedelta(days=10),
        actor=SYSTEM,
    )


def lot_released(lot_id: str) -> LotReleased:
    """QA released the lot (QC's event, which custody keeps per lot)."""
    return LotReleased(
        coi=COI,
        lot_id=lot_id,
        panel_id=f"panel-{lot_id}",
        certificate_id=f"coa-{lot_id}",
        decided_at=NOW - timedelta(hours=1),
        actor=Actor(user_id="u-qa", role="qa-reviewer"),
    )
