from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from v2v_runtime.eventstore import ConcurrencyError
from v2v_runtime.http import health_router, install_problem_handlers
from v2v_runtime.identity import CurrentActor
from v2v_runtime.testing import ACTOR_HEADERS, OVERSIZED_IDENTITIES


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


def test_invalid_body_is_a_422_problem() -> None:
    r = TestClient(make_app(True)).post("/lots/1/measure", json={"viability": "high"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "viability"]


def test_identity_headers_longer_than_an_actor_are_a_422_problem() -> None:
    # Found by fuzzing: X-V2V-User over 128 (or X-V2V-Role over 64) characters built an
    # invalid Actor and answered 500 on every service.
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/who")
    async def who(actor: CurrentActor) -> dict[str, str]:
        return actor.model_dump()

    c = TestClient(app)
    ok = c.post("/who", headers=ACTOR_HEADERS | {"X-V2V-User": "u" * 128, "X-V2V-Role": "r" * 64})
    assert ok.status_code == 200
    for headers in OVERSIZED_IDENTITIES:
        r = c.post("/who", headers=headers)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["loc"][0] == "header"
