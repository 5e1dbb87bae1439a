"""Idempotency-Key over a tiny service built with the kit: replay, reuse, callers, failed
requests, concurrent duplicates and the crash window between commit and stored response."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, insert, select

from v2v_runtime.authz import Caller, Roles, allowed
from v2v_runtime.db.tables import idempotency as claims
from v2v_runtime.errors import Conflict, DomainError
from v2v_runtime.service import ServiceKit, ServiceSettings, ServiceSpec, kit_of
from v2v_runtime.testing import TEST_ISSUER, SeqIds, StepClock, as_user

from .conftest import effects, test_metadata

ALICE = as_user("u-alice", "treatment-center-coordinator")
BOB = as_user("u-bob", "treatment-center-coordinator")
Coordinator = Annotated[Caller, allowed(Roles.TREATMENT_CENTER_COORDINATOR)]


class Order(BaseModel):
    item: str = Field(min_length=1)
    qty: int = Field(gt=0)


def orders_router() -> APIRouter:
    router = APIRouter()

    @router.post("/orders", status_code=201)
    async def place(body: Order, request: Request, caller: Coordinator) -> dict[str, Any]:
        if body.item == "slow":  # both twins pass the key check before either commits
            await asyncio.sleep(0.2)
        async with kit_of(request.app).uow() as uow:
            order_id = uow.ids.new_id()
            await uow.session.execute(insert(effects).values(message_id=order_id, coi=body.item))
            if body.item == "sold-out":  # refused inside the transaction: rolled back
                raise Conflict("sold-out", "nothing left")
        if body.item == "refused-on-record":  # committed, then refused: the refusal stands
            raise DomainError("refused", "refused, and that is on record", order_id=order_id)
        if body.item == "crash":  # committed, then the process dies before answering
            raise RuntimeError("crash after commit")
        return {"order_id": order_id, "item": body.item, "qty": body.qty, "by": caller.user_id}

    @router.post("/orders/{order_id}/notes", status_code=201)
    async def note(order_id: str, body: Order, request: Request) -> dict[str, str]:
        async with kit_of(request.app).uow() as uow:
            await uow.session.execute(insert(effects).values(message_id=order_id, coi=body.item))
        return {"order_id": order_id}

    @router.get("/orders")
    async def count(request: Request) -> dict[str, int]:
        return {"n": await count_effects(kit_of(request.app))}

    return router


async def count_effects(kit: ServiceKit) -> int:
    async with kit.sessions() as s:
        return int((await s.execute(select(func.count()).select_from(effects))).scalar_one())


async def stored_claims(kit: ServiceKit) -> list[Any]:
    async with kit.sessions() as s:
        return list((await s.execute(select(claims))).all())


@pytest.fixture
async def kit(tmp_path: Path) -> AsyncIterator[ServiceKit]:
    settings = ServiceSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/idem.sqlite", idempotency_wait_s=0.3
    )
    spec = ServiceSpec(
        name="orders",
        settings=settings,
        migrations=[],
        routers=[orders_router()],
        handlers={},
        clock=StepClock(),
        ids=SeqIds("order"),
        token_verifier=TEST_ISSUER.verifier(),
    )
    k = ServiceKit(spec)
    await k.migrate()
    async with k.engine.begin() as conn:
        await conn.run_sync(test_metadata.create_all)
    yield k
    await k.engine.dispose()


@pytest.fixture
async def client(kit: ServiceKit) -> AsyncIterator[httpx.AsyncClient]:
    app = kit.http_app(manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as c:
        yield c


def keyed(key: str, who: dict[str, str] = ALICE) -> dict[str, str]:
    return {**who, "Idempotency-Key": key}


async def test_same_key_and_body_replays_the_first_response_without_a_second_effect(
    kit: ServiceKit, client: httpx.AsyncClient
) -> None:
    first = await client.post("/orders", json={"item": "cells", "qty": 1}, headers=keyed("k-1"))
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    # Same body, other key order and spacing: the same request.
    again = await client.post(
        "/orders", content=b'{ "qty": 1, "item": "cells" }', headers=keyed("k-1")
    )
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await count_effects(kit) == 1
    [claim] = await stored_claims(kit)
    assert (claim.key, claim.response_status) == ("k-1", 201)
    assert claim.scope == "POST /orders u-alice"
    assert claim.created_at is not None and claim.completed_at is not None


async def test_without_the_header_every_request_acts(
    kit: ServiceKit, client: httpx.AsyncClient
) -> None:
    for _ in range(2):
        r = await client.post("/orders", json={"item": "cells", "qty": 1}, headers=ALICE)
        assert r.status_code == 201
    assert await count_effects(kit) == 2
    assert await stored_claims(kit) == []


async def test_same_key_with_another_body_is_a_422_problem(
    kit: ServiceKit, client: httpx.AsyncClient
) -> None:
    r = await client.post("/orders", json={"item": "cells", "qty": 1}, headers=keyed("k-2"))
    assert r.status_code == 201
    r = await client.post("/orders", json={"item": "cells", "qty": 2}, headers=keyed("k-2"))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "urn:vein2vein:problem:idempotency-key-reused"
    # Path parameters are part of the request too.
    body = {"item": "note", "qty": 1}
    assert (await client.post("/orders/o-1/notes", json=body, headers=keyed("k-3"))).is_success
    r = await client.post("/orders/o-2/notes", json=body, headers=keyed("k-3"))
    assert r.json()["type"] == "urn:vein2vein:problem:idempotency-key-reused"
    assert await count_effects(kit) == 2


async def test_keys_are_per_caller_and_per_operation(
    kit: ServiceKit, client: httpx.AsyncClient
) -> None:
    body = {"item": "cells", "qty": 1}
    alice = await client.post("/orders", json=body, headers=keyed("shared"))
    bob = await client.post("/orders", json=body, headers=keyed("shared", BOB))
    assert (alice.status_code, bob.status_code) == (201, 201)
    assert "idempotent-replayed" not in bob.headers
    assert (alice.json()["by"], bob.json()["by"]) == ("u-alice", "u-bob")
    assert alice.json()["order_id"] != bob.json()["order_id"]
    note = await client.post("/orders/o-1/notes", json=body, headers=keyed("shared"))
    assert note.status_code == 201 and "idempotent-replayed" not in note.headers
    assert await count_effects(kit) == 3


async def test_a_failed_request_leaves_no_claim_and_may_be_retried_with_its_key(
    kit: ServiceKit, client: httpx.AsyncClient
) -> None:
    invalid = await client.post("/orders", json={"item": "cells"}, headers=keyed("k-4"))
    assert invalid.status_code == 422
    refused = await client.post(
        "/orders", json={"item": "sold-out", "qty": 1}, headers=keyed("k-5")
    )
    assert refused.status_code == 409
    unidentified = await client.post(
        "/orders", json={"item": "cells", "qty": 1}, headers={"Idempotency-Key": "k-6"}
    )
    assert unidentified.status_code == 401
    assert await stored_claims(kit) == [] and await count_effects(kit) == 0
    # The same key again, now with a request that succeeds: it acts.
    ok = await client.post("/orders", json={"item": "cells", "qty": 1}, headers=keyed("k-4"))
    assert ok.status_code == 201 and "idempotent-replayed" not in ok.headers
    assert await count_effects(kit) == 1


async def test_a_refusal_committed_with_its_record_is_replayed(
    kit: ServiceKit, client: httpx.AsyncClient
) -> None:
    body = {"item": "refused-on-record", "qty": 1}
    first = await client.post("/orders", json=body, headers=keyed("k-7"))
    assert first.status_code == 422
    again = await client.post("/orders", json=body, headers=keyed("k-7"))
    assert (again.status_code, again.content) == (422, first.content)
    assert again.headers["content-type"] == "application/problem+json"
    assert again.headers["idempotent-replayed"] == "true"
    assert await count_effects(kit) == 1


async def test_concurrent_duplicates_act_once_and_all_get_the_same_answer(
    kit: ServiceKit, client: httpx.AsyncClient
) -> None:
    body = {"item": "slow", "qty": 3}
    rs = await asyncio.gather(
        *(client.post("/orders", json=body, headers=keyed("k-8")) for _ in range(4))
    )
    assert [r.status_code for r in rs] == [201] * 4, [r.text for r in rs]
    assert len({r.content for r in rs}) == 1
    assert sorted(r.headers.get("idempotent-replayed", "") for r in rs) == [
        "",
        "true",
        "true",
        "true",
    ]
    assert await count_effects(kit) == 1


async def test_a_concurrent_duplicate_with_another_body_is_refused(
    kit: ServiceKit, client: httpx.AsyncClient
) -> None:
    one, two = await asyncio.gather(
        client.post("/orders", json={"item": "slow", "qty": 1}, headers=keyed("k-9")),
        client.post("/orders", json={"item": "slow", "qty": 2}, headers=keyed("k-9")),
    )
    assert sorted([one.status_code, two.status_code]) == [201, 422]
    loser = one if one.status_code == 422 else two
    assert loser.json()["type"] == "urn:vein2vein:problem:idempotency-key-reused"
    assert await count_effects(kit) == 1


async def test_applied_without_a_stored_response_is_a_409_problem(
    kit: ServiceKit, client: httpx.AsyncClient
) -> None:
    body = {"item": "crash", "qty": 1}
    first = await client.post("/orders", json=body, headers=keyed("k-10"))
    assert first.status_code == 500
    [claim] = await stored_claims(kit)
    assert claim.response_status is None  # committed with the effect, never answered
    again = await client.post("/orders", json=body, headers=keyed("k-10"))
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    problem = again.json()
    assert problem["type"] == "urn:vein2vein:problem:idempotency-request-applied"
    assert "GET" in problem["detail"]
    assert await count_effects(kit) == 1


async def test_the_uow_claims_the_key_in_the_effects_transaction(kit: ServiceKit) -> None:
    from v2v_runtime import idempotency

    async def failing() -> None:
        async with kit.uow() as uow:
            await uow.session.execute(insert(effects).values(message_id="m", coi="c"))
            raise RuntimeError("rolled back")

    claim = idempotency.Claim(scope="POST /x u", key="k", request_hash="h")
    with idempotency.claiming(claim):
        with pytest.raises(RuntimeError):
            await failing()
        assert not claim.committed and await stored_claims(kit) == []
        async with kit.uow() as uow:
            await uow.session.execute(insert(effects).values(message_id="m", coi="c"))
        async with kit.uow():  # once per request: a second unit of work claims nothing
            pass
    assert claim.committed and len(await stored_claims(kit)) == 1
    # Another request with the same key loses at commit, and its effect is undone.
    twin = idempotency.Claim(scope="POST /x u", key="k", request_hash="h")
    with idempotency.claiming(twin), pytest.raises(idempotency.KeyInUse):
        async with kit.uow() as uow:
            await uow.session.execute(insert(effects).values(message_id="m2", coi="c"))
    assert await count_effects(kit) == 1
    # Outside a request (inbox, relay) nothing is claimed.
    async with kit.uow() as uow:
        await uow.session.execute(insert(effects).values(message_id="m3", coi="c"))
    assert len(await stored_claims(kit)) == 1


@pytest.mark.parametrize(
    "key",
    ["x" * 201, "", "   ", "schlüssel", "tab\there"],
    ids=["long", "empty", "blank", "utf8", "ctl"],
)
async def test_an_invalid_key_is_a_400_problem(
    key: str, kit: ServiceKit, client: httpx.AsyncClient
) -> None:
    headers: dict[str, str | bytes] = {**ALICE, "Idempotency-Key": key.encode()}
    r = await client.post("/orders", json={"item": "cells", "qty": 1}, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "urn:vein2vein:problem:idempotency-key-invalid"
    assert await count_effects(kit) == 0
    ok = await client.post("/orders", json={"item": "cells", "qty": 1}, headers=keyed("x" * 200))
    assert ok.status_code == 201


async def test_gets_ignore_the_header(client: httpx.AsyncClient) -> None:
    r = await client.get("/orders", headers=keyed("k-11"))
    assert r.status_code == 200 and r.json() == {"n": 0}


def test_openapi_declares_the_header_on_every_post(kit: ServiceKit) -> None:
    doc = kit.http_app(manage_lifecycle=False).openapi()
    param = doc["components"]["parameters"]["IdempotencyKey"]
    assert (param["name"], param["in"], param["schema"]["maxLength"]) == (
        "Idempotency-Key",
        "header",
        200,
    )
    ref = {"$ref": "#/components/parameters/IdempotencyKey"}
    for path in ("/orders", "/orders/{order_id}/notes"):
        assert ref in doc["paths"][path]["post"]["parameters"]
        assert "Idempotent-Replayed" in doc["paths"][path]["post"]["responses"]["201"]["headers"]
    assert ref not in doc["paths"]["/orders"]["get"].get("parameters", [])


def test_the_unit_of_work_does_not_import_fastapi() -> None:
    code = "import sys, v2v_runtime.uow; sys.exit('fastapi' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
