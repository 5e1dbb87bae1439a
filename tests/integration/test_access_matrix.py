"""Who may call what, on the real Keycloak's tokens.

Every route of every service is called with every role (people by the password grant,
machine clients by client credentials: one token each per session) and with tokens that
must never pass: none, expired, from another issuer, with a tampered payload, with
``alg: none``. The GMP-critical operations are checked against expectations written down
here, not read from the declarations in code, so a wrong declaration fails. In-process
over ASGI, on SQLite: the services' own apps with the verifier they run with in production.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from v2v_cli.tokens import TokenBroker
from v2v_runtime.auth.testing import LocalIssuer
from v2v_runtime.authz import MACHINES, PEOPLE

from .access_world import BUILD, PROBLEM, World, bearer, declarations, open_world

pytestmark = pytest.mark.integration

ROLES = (*PEOPLE, *MACHINES)
MISSING = "matrix-404"  # every path parameter: an id nothing has

# GMP-critical operations and who may do them, written here independently of the code.
CRITICAL: dict[tuple[str, str], set[str]] = {
    # disposition is the quality unit's alone; manufacturing records its finding that a lot
    # failed (QA disposes of the lot in QC)
    ("qc", "POST /lots/{lot_id}/decision"): {"qa-reviewer"},
    # how a journey goes on after its lot failed: QA, or the qualified person (signed)
    ("qc", "POST /lots/{lot_id}/recovery-decision"): {"qa-reviewer", "qualified-person"},
    # exceptional release: the physician's request recorded by the treatment center; the
    # risk assessment, the decision and the authority's notification by QA
    ("qc", "POST /lots/{lot_id}/exceptional-release/physician-request"): {
        "treatment-center-coordinator"
    },
    ("qc", "POST /lots/{lot_id}/exceptional-release/risk-assessment"): {"qa-reviewer"},
    ("qc", "POST /lots/{lot_id}/exceptional-release/decision"): {"qa-reviewer"},
    ("qc", "POST /lots/{lot_id}/exceptional-release/authority-notification"): {"qa-reviewer"},
    ("qc", "POST /lots/{lot_id}/audit-trail-review"): {"qa-reviewer"},
    # the qualified person's certification of the batch (EudraLex IV §11)
    ("qc", "POST /lots/{lot_id}/certification"): {"qualified-person"},
    ("batch", "POST /lots/{lot_id}/manufacturing-failure"): {"manufacturing-supervisor"},
    ("qc", "POST /panels/{panel_id}/results"): {"qc-analyst"},
    ("qc", "POST /panels/{panel_id}/review"): {"qc-reviewer"},
    ("qc", "POST /deviations/{deviation_id}/classification"): {"qa-reviewer"},
    ("qc", "POST /deviations/{deviation_id}/close"): {"qa-reviewer"},
    # a deviation's containment and investigation: QA, or the lab's or the floor's lead;
    # its CAPA plan, effectiveness check and regulatory report: QA alone
    ("qc", "POST /deviations/{deviation_id}/containment"): {
        "qa-reviewer",
        "qc-reviewer",
        "manufacturing-supervisor",
    },
    ("qc", "POST /deviations/{deviation_id}/investigation"): {
        "qa-reviewer",
        "qc-reviewer",
        "manufacturing-supervisor",
    },
    ("qc", "POST /deviations/{deviation_id}/capa-plan"): {"qa-reviewer"},
    ("qc", "POST /deviations/{deviation_id}/effectiveness-check"): {"qa-reviewer"},
    ("qc", "POST /deviations/{deviation_id}/regulatory-report"): {"qa-reviewer"},
    # change control: raised and assessed by the process owner, QC's reviewer or QA; only
    # QA decides (signed)
    ("qc", "POST /change-controls"): {"manufacturing-supervisor", "qc-reviewer", "qa-reviewer"},
    ("qc", "POST /change-controls/{change_control_id}/impact-assessment"): {
        "manufacturing-supervisor",
        "qc-reviewer",
        "qa-reviewer",
    },
    ("qc", "POST /change-controls/{change_control_id}/approval"): {"qa-reviewer"},
    ("qc", "POST /change-controls/{change_control_id}/rejection"): {"qa-reviewer"},
    # holds: placed by QA (or a deviation's containment), lifted by QA's signature alone
    ("qc", "POST /holds"): {"qa-reviewer"},
    ("qc", "POST /holds/{hold_id}/release"): {"qa-reviewer"},
    # a critical notification: acknowledged by the roles an escalation chain may name, or the
    # treatment center told of it (the notification itself then checks it was sent to them)
    ("qc", "POST /notifications/{notification_id}/acknowledgement"): {
        "qa-reviewer",
        "qualified-person",
        "qc-reviewer",
        "manufacturing-supervisor",
        "treatment-center-coordinator",
    },
    ("batch", "POST /batches/{batch_id}/steps"): {
        "cell-therapy-specialist",
        "manufacturing-supervisor",
    },
    ("batch", "POST /batches/{batch_id}/steps/{step}/verification"): {
        "cell-therapy-specialist",
        "manufacturing-supervisor",
    },
    ("batch", "POST /batches/{batch_id}/lot"): {
        "cell-therapy-specialist",
        "manufacturing-supervisor",
    },
    # supplied materials: received by materials management, disposed of by QA alone,
    # consumed at a step by manufacturing
    ("batch", "POST /material-master"): {"materials-handler", "qa-reviewer"},
    ("batch", "POST /material-lots"): {"materials-handler"},
    ("batch", "POST /material-lots/{lot_id}/release"): {"qa-reviewer"},
    ("batch", "POST /material-lots/{lot_id}/rejection"): {"qa-reviewer"},
    ("batch", "POST /batches/{batch_id}/steps/{step}/materials"): {
        "cell-therapy-specialist",
        "manufacturing-supervisor",
    },
    # the equipment register is the supervisor's; a faulty instrument is returned to
    # service by a supervisor or QA; instruments are used by who performs the step
    ("batch", "POST /equipment"): {"manufacturing-supervisor"},
    ("batch", "POST /equipment/{equipment_id}/calibrations"): {"manufacturing-supervisor"},
    ("batch", "POST /equipment/{equipment_id}/return-to-service"): {
        "manufacturing-supervisor",
        "qa-reviewer",
    },
    ("batch", "POST /batches/{batch_id}/steps/{step}/equipment"): {
        "cell-therapy-specialist",
        "manufacturing-supervisor",
    },
    # document control is QA's; training is recorded by a supervisor or QA
    ("batch", "POST /sops"): {"qa-reviewer"},
    ("batch", "POST /people/{user_id}/qualifications"): {
        "manufacturing-supervisor",
        "qa-reviewer",
    },
    ("batch", "POST /people/{user_id}/qualifications/{qualification_id}/revocation"): {
        "manufacturing-supervisor",
        "qa-reviewer",
    },
    # the room register is the supervisor's or QA's; QC analysts record monitoring results
    # (the supervisor particle counts too) and correct them
    ("batch", "POST /rooms"): {"manufacturing-supervisor", "qa-reviewer"},
    ("batch", "POST /environment/results"): {"qc-analyst", "manufacturing-supervisor"},
    ("batch", "POST /environment/results/{result_id}/corrections"): {
        "qc-analyst",
        "manufacturing-supervisor",
    },
    # master batch records: the supervisor writes them, QA approves (signed), returns and
    # retires them (their change control, approved in QC, makes them effective); executing
    # a batch, correcting it, dispositioning its exceptions and reviewing its record
    ("batch", "POST /mbrs"): {"manufacturing-supervisor"},
    ("batch", "POST /mbrs/{product_code}/{site}/versions/{version}/revision"): {
        "manufacturing-supervisor"
    },
    ("batch", "POST /mbrs/{product_code}/{site}/versions/{version}/submission"): {
        "manufacturing-supervisor"
    },
    ("batch", "POST /mbrs/{product_code}/{site}/versions/{version}/approval"): {"qa-reviewer"},
    ("batch", "POST /mbrs/{product_code}/{site}/versions/{version}/return"): {"qa-reviewer"},
    ("batch", "POST /mbrs/{product_code}/{site}/versions/{version}/retirement"): {"qa-reviewer"},
    ("batch", "POST /batches/{batch_id}/steps/{step}"): {
        "cell-therapy-specialist",
        "manufacturing-supervisor",
    },
    ("batch", "POST /batches/{batch_id}/steps/{step}/corrections"): {
        "cell-therapy-specialist",
        "manufacturing-supervisor",
    },
    ("batch", "POST /batches/{batch_id}/exceptions/{exception_id}/disposition"): {"qa-reviewer"},
    ("batch", "POST /batches/{batch_id}/review"): {"qa-reviewer"},
    # a controlled-rate freezer run is recorded by who performed it
    ("batch", "POST /batches/{batch_id}/freezer-runs"): {
        "cell-therapy-specialist",
        "manufacturing-supervisor",
    },
    # the executed record's printout: whoever reads the batch record, inspectors included
    ("batch", "GET /batches/{batch_id}/record.pdf"): {
        "cell-therapy-specialist",
        "manufacturing-supervisor",
        "materials-handler",
        "qc-analyst",
        "qc-reviewer",
        "qa-reviewer",
        "qualified-person",
        "auditor",
    },
    ("custody", "POST /patients"): {"treatment-center-coordinator"},
    ("custody", "POST /patients/{coi}/identity-corrections"): {"treatment-center-coordinator"},
    ("custody", "POST /patients/{coi}/collections"): {"apheresis-nurse"},
    ("custody", "POST /patients/{coi}/infusions"): {"infusion-nurse"},
    # the thaw starts the thaw-to-infusion clock: the nurse who infuses records it
    ("custody", "POST /patients/{coi}/units/{unit_id}/thaw"): {"infusion-nurse"},
}
# Who reads a patient's record at all (identity or not: see test_patient_identity.py).
PATIENT_READERS = {
    "treatment-center-coordinator",
    "apheresis-nurse",
    "infusion-nurse",
    "logistics-coordinator",
    "courier",
    "materials-handler",
    "cell-therapy-specialist",
    "manufacturing-supervisor",
    "qa-reviewer",
    "qualified-person",
    "auditor",
}
CRITICAL[("custody", "GET /patients/{coi}")] = PATIENT_READERS
# Audit trails: the quality unit, the QP and inspectors everywhere, and each service's own
# reviewer of its records; never a machine.
TRAIL_READERS = {"auditor", "qa-reviewer", "qualified-person"}
for service, reviewer in (
    ("custody", "treatment-center-coordinator"),
    ("logistics", "logistics-coordinator"),
    ("batch", "manufacturing-supervisor"),
    ("qc", "qc-reviewer"),
):
    CRITICAL[(service, "GET /audit-trail")] = TRAIL_READERS | {reviewer}
# A machine feeds data in; it never decides, signs, disposes or reads patients.
MACHINE_FEEDS = {
    ("logistics", "POST /shipments/{shipment_id}/pickup"): {"courier-integration"},
    ("logistics", "POST /shipments/{shipment_id}/delivery"): {"courier-integration"},
}
READ_ONLY = {"auditor", "administrator"}  # never write a GMP record


@pytest.fixture(scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory, oidc_issuer: str, tokens: TokenBroker
) -> AsyncIterator[World]:
    async with open_world(tmp_path_factory.mktemp("matrix"), oidc_issuer, tokens) as w:
        yield w


DECLARED = declarations()
ROUTES = sorted(DECLARED)


async def call(
    world: World, service: str, operation: str, headers: dict[str, str]
) -> httpx.Response:
    method, path = operation.split(" ", 1)
    # every id a route names: one that does not exist (the role check comes first)
    path = re.sub(r"\{(?!product_code|site|version|step)\w+\}", MISSING, path)
    path = path.replace("{product_code}", "S1234").replace("{site}", "manufacturing-site-1")
    path = path.replace("{version}", "1")
    path = path.replace("{step}", "transduction")
    assert "{" not in path, path
    async with world.client(service) as client:
        if method == "POST":
            return await client.post(path, json={}, headers=headers)
        return await client.request(method, path, headers=headers)


def refused_for_role(r: httpx.Response) -> bool:
    assert r.status_code < 500, r.text
    assert r.status_code != 401, r.text  # a valid token is always someone
    return r.status_code == 403 and r.json()["type"] == f"{PROBLEM}role-not-allowed"


def test_every_service_has_routes_in_the_matrix() -> None:
    assert {s for s, _ in ROUTES} == set(BUILD)
    assert len(ROUTES) >= 30


@pytest.mark.requirement("21CFR11.10(g)")
@pytest.mark.parametrize(("service", "operation"), ROUTES, ids=[f"{s}:{o}" for s, o in ROUTES])
async def test_every_role_on_every_route(world: World, service: str, operation: str) -> None:
    allowed_by_behaviour = set()
    for role in ROLES:
        r = await call(world, service, operation, await world.as_(role))
        if not refused_for_role(r):
            allowed_by_behaviour.add(role)
    # what the route does is what it declares (and so what docs/roles.md says) ...
    assert allowed_by_behaviour == DECLARED[(service, operation)]
    # ... and what GMP demands, written down above
    expected = CRITICAL.get((service, operation))
    if expected is not None:
        assert allowed_by_behaviour == expected
    method = operation.split(" ", 1)[0]
    if method == "POST":
        assert not allowed_by_behaviour & READ_ONLY
        machines = allowed_by_behaviour & set(MACHINES)
        assert machines <= MACHINE_FEEDS.get((service, operation), set())
    if service == "custody":  # patient records: people only
        assert not allowed_by_behaviour & set(MACHINES)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


async def bad_tokens(world: World, oidc_issuer: str) -> dict[str, dict[str, str]]:
    real = await world.token("qc-analyst")
    header, payload, signature = real.split(".")
    claims = json.loads(_unb64(payload))
    # the analyst makes themself QA: the provider's signature no longer matches
    promoted = claims | {"realm_access": {"roles": ["qa-reviewer", "qc-analyst"]}}
    tampered = ".".join([header, _b64(json.dumps(promoted).encode()), signature])
    none_header = json.loads(_unb64(header)) | {"alg": "none"}
    unsigned = ".".join([_b64(json.dumps(none_header).encode()), payload, ""])
    now = int(time.time())
    every_role = {"realm_access": {"roles": list(PEOPLE)}, "sites": ["*"]}
    expired = world.second.token(iat=now - 7200, exp=now - 3600, **every_role)
    elsewhere = LocalIssuer(issuer=oidc_issuer.replace("vein2vein", "elsewhere"))
    return {
        "none": {},
        "not a bearer token": {"Authorization": f"Basic {_b64(b'qa-reviewer:pw')}"},
        "malformed": bearer("not.a.jwt"),
        "expired": bearer(expired),
        "another issuer": bearer(elsewhere.token(**every_role)),
        "tampered payload": bearer(tampered),
        "alg none": bearer(unsigned),
    }


@pytest.mark.requirement("21CFR11.10(d)", "EU-Annex11.12.1")
@pytest.mark.parametrize(("service", "operation"), ROUTES, ids=[f"{s}:{o}" for s, o in ROUTES])
async def test_tokens_that_must_not_pass(
    world: World, oidc_issuer: str, service: str, operation: str
) -> None:
    for what, headers in (await bad_tokens(world, oidc_issuer)).items():
        r = await call(world, service, operation, headers)
        assert r.status_code == 401, (what, r.text)
        assert r.headers["content-type"] == "application/problem+json", what
        assert r.headers["www-authenticate"].startswith("Bearer"), what


async def test_the_second_key_is_trusted_so_expiry_is_what_refuses(world: World) -> None:
    """The control for the expired token above: the same key, not expired, passes."""
    now = int(time.time())
    valid = world.second.token(
        iat=now, exp=now + 300, realm_access={"roles": ["qa-reviewer"]}, sites=["*"]
    )
    async with world.client("qc") as qc:
        r = await qc.get("/deviations", params={"coi": "CHA1B2C26000001"}, headers=bearer(valid))
    assert r.status_code == 200, r.text
