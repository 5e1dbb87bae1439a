from typing import Annotated

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from v2v_runtime.auth import install_token_verifier
from v2v_runtime.authz import Caller, Roles, allowed
from v2v_runtime.eventstore import ConcurrencyError
from v2v_runtime.http import health_router, install_problem_handlers
from v2v_runtime.testing import OVERSIZED_IDENTITIES, TEST_ISSUER, as_user


def make_app(db_ok: bool) -> FastAPI:
    async def db() -> None:
        if not db_ok:
            raise ConnectionError("database refused connection")

    app = FastAPI()
    app.include_router(health_router({"database": db}))
    install_problem_handlers(app)

    class Body(BaseModel):
        viability: float

    @app.post("/lots/{lot_id}/measure")
    async def measure(lot_id: str, body: Body) -> dict[str, str]:
        raise ConcurrencyError(f"lot-{lot_id}", 3, 4)

    return app


def test_health_and_readiness() -> None:
    c = TestClient(make_app(True))
    assert c.get("/healthz").json() == {"status": "ok"}
    assert c.get("/readyz").json()["checks"] == {"database": "ok"}


def test_not_ready_is_a_503_problem() -> None:
    r = TestClient(make_app(False)).get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert "refused" in r.json()["checks"]["database"]


def test_conflict_is_a_409_problem() -> None:
    r = TestClient(make_app(True)).post("/lots/1/measure", json={"viability": 80})
    assert r.status_code == 409
    body = r.json()
    assert body["status"] == 409 and body["stream_id"] == "lot-1"
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.requirement("EU-Annex11.4.7")
def test_invalid_body_is_a_422_problem() -> None:
    r = TestClient(make_app(True)).post("/lots/1/measure", json={"viability": "high"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "viability"]


def test_token_claims_longer_than_an_actor_are_a_4xx_problem() -> None:
    # Found by fuzzing (then with headers): an identity over 128 characters (or a role over
    # 64) built an invalid Actor and answered 500 on every service. Now from a token.
    app = FastAPI()
    install_problem_handlers(app)
    install_token_verifier(app, TEST_ISSUER.verifier())

    @app.post("/who")
    async def who(
        caller: Annotated[Caller, allowed(Roles.CELL_THERAPY_SPECIALIST)],
    ) -> dict[str, str]:
        return caller.actor.model_dump()

    c = TestClient(app)
    ok = c.post("/who", headers=as_user("u" * 128, Roles.CELL_THERAPY_SPECIALIST))
    assert ok.status_code == 200, ok.text
    statuses = []
    for headers in OVERSIZED_IDENTITIES:
        r = c.post("/who", headers=headers)
        assert r.headers["content-type"] == "application/problem+json"
        statuses.append(r.status_code)
    assert statuses == [401, 403]  # a subject too long: invalid token; an unknown role
