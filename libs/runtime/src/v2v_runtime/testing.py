"""Test harness for a service, in-process on SQLite: HTTP through ASGI, commands and events
delivered through the real inbox, and the outbox read back as decoded contracts.

Fast tests only: the cross-process tests in tests/integration use real Kafka.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import jwt
from sqlalchemy import select

from v2v_events import REGISTRY, to_kafka
from v2v_events.catalog import source_of
from v2v_events.envelope import Envelope, from_kafka
from v2v_events.registry import Contract

from .auth.testing import LocalIssuer
from .db.tables import outbox
from .inbox import IncomingRecord, Outcome
from .service import ServiceKit, ServiceSpec
from .signatures.reauth import BadCredentials

M = TypeVar("M", bound=Contract)


class StepClock:
    """A clock that starts at ``start`` and moves only when told (or by ``tick`` per read)."""

    def __init__(self, start: datetime | None = None, tick: timedelta = timedelta(0)) -> None:
        self.current = start or datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
        self.tick = tick

    def now(self) -> datetime:
        self.current += self.tick
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


class SeqIds:
    def __init__(self, prefix: str = "id") -> None:
        self._n = itertools.count(1)
        self._prefix = prefix

    def new_id(self) -> str:
        return f"{self._prefix}-{next(self._n):05d}"


class RecordingPublisher:
    """Records what would go to Kafka; ``fail_next = n`` makes the next n sends fail as an
    unreachable broker would."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = []
        self.fail_next = 0

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("broker unavailable")
        self.sent.append((topic, key, value, list(headers)))

    async def send_many(
        self, records: Sequence[tuple[str, bytes, bytes, Sequence[tuple[str, bytes]]]]
    ) -> None:
        for r in records:
            await self.send(*r)


class ServiceHarness:
    def __init__(self, spec: ServiceSpec, *, headers: Mapping[str, str] | None = None) -> None:
        self.headers = headers  # sent by every client() unless it names its own
        if spec.token_verifier is None:
            spec.token_verifier = TEST_ISSUER.verifier()
        if spec.reauthenticator is None:
            spec.reauthenticator = TestReauthenticator()
        self.kit = ServiceKit(spec)
        self.dead_letters = RecordingPublisher()
        self._offset = itertools.count()
        self.processor = self.kit.inbox(self.dead_letters, max_attempts=1, retry_backoff=0)

    @classmethod
    def sqlite_url(cls, directory: Path, name: str = "svc") -> str:
        return f"sqlite+aiosqlite:///{directory}/{name}.sqlite"

    async def start(self) -> None:
        await self.kit.migrate()

    async def close(self) -> None:
        await self.kit.engine.dispose()

    def client(self, headers: Mapping[str, str] | None = None) -> httpx.AsyncClient:
        """An HTTP client of the service's app over ASGI; ``headers`` (e.g. ``as_user(…)``)
        go with every request unless a request gives its own."""
        app = self.kit.http_app(manage_lifecycle=False)
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://svc",
            headers=headers if headers is not None else self.headers,
        )

    async def deliver(
        self,
        message: Contract,
        *,
        subject: str,
        id: str | None = None,
        topic: str | None = None,
        source: str | None = None,
    ) -> Outcome:
        """Deliver a command or event as Kafka would, through the service's inbox; from
        its rightful ``source`` unless given (a command's first sender, an event's owner)."""
        mt = REGISTRY.for_model(type(message))
        env = REGISTRY.envelope(
            message,
            subject=subject,
            source=source or source_of(mt.senders[0] if mt.senders else mt.owner),
            id=id or f"msg-{next(self._offset)}",
            time=self.kit.clock.now(),
        )
        rec = to_kafka(env)
        incoming = IncomingRecord(
            topic or mt.topic,
            0,
            next(self._offset),
            rec.key,
            rec.value,
            list(rec.headers),
        )
        return await self.processor.process(incoming)

    async def outbox(self, *, trail: bool = False) -> list[tuple[str, Envelope]]:
        """What the service queued for Kafka, in order: (topic, envelope). The audit-trail
        heads that go with every change of a CoI's records only with ``trail=True``."""
        async with self.kit.sessions() as s:
            rows = (await s.execute(select(outbox).order_by(outbox.c.id))).all()
        out = []
        for r in rows:
            headers = [(k, v.encode()) for k, v in r.headers]
            env = from_kafka(r.key.encode(), r.value.encode(), headers)
            if trail or not env.type.endswith(TRAIL_TYPE_SUFFIX):
                out.append((r.topic, env))
        return out

    async def published(self, model: type[M]) -> list[M]:
        name = REGISTRY.for_model(model).name
        found: list[M] = []
        for _, env in await self.outbox(trail=True):
            if env.type == name:
                msg = REGISTRY.decode_envelope(env)
                assert isinstance(msg, model)
                found.append(msg)
        return found


# One throwaway issuer per test process: services built for tests trust it (ServiceHarness),
# and these helpers sign as it, so unit tests need no identity provider. Integration tests
# take real tokens from Keycloak instead.
TEST_ISSUER = LocalIssuer()
TOKEN_LIFETIME_S = 24 * 3600


def as_user(
    user_id: str,
    *roles: str,
    sites: Sequence[str] = ("*",),
    name: str | None = None,
    signs: bool = True,
) -> dict[str, str]:
    """Headers of a person with ``roles`` (at every site by default), signed by TEST_ISSUER;
    their ``sub`` is ``user_id``, which the records then carry. The person can also sign
    (``TestReauthenticator``) with the password ``signing_password(user_id)`` — one person
    per id (a second with other claims is refused) — unless ``signs`` is False (a fuzzer's
    identities: a token only)."""
    claims: dict[str, Any] = {
        "sub": user_id,
        "preferred_username": user_id,
        "name": name or f"Test {user_id}",
        "realm_access": {"roles": list(roles)},
        "sites": list(sites),
    }
    known = _PEOPLE.get(user_id) if signs else None
    if known is not None and known != claims:
        # The signing provider knows people by login, process-wide: a second person under
        # the same id would sign with whichever registered last (roles, sites, name).
        raise ValueError(
            f"as_user({user_id!r}) is already someone else ({known['realm_access']['roles']}, "
            f"sites {known['sites']}, {known['name']!r}): give this person another id"
        )
    if signs:
        _PEOPLE[user_id] = claims
    token = TEST_ISSUER.token(
        **claims, sid=f"session-{user_id}", jti=uuid.uuid4().hex, lifetime_s=TOKEN_LIFETIME_S
    )
    return {"Authorization": f"Bearer {token}"}


TRAIL_TYPE_SUFFIX = ".audit-trail.advanced"

# Everyone as_user made, by login: whom TestReauthenticator knows.
_PEOPLE: dict[str, dict[str, Any]] = {}


def signing_password(user_id: str) -> str:
    return f"pw-{user_id}"


class TestReauthenticator:
    """The provider's password grant, for in-process tests: the people ``as_user`` made,
    each with ``signing_password(user_id)``; the token it issues is verified like any."""

    __test__ = False  # not a pytest class

    def __init__(self) -> None:
        self.attempts: list[str] = []

    async def token(self, username: str, password: str) -> str:
        self.attempts.append(username)
        claims = _PEOPLE.get(username)
        if claims is None or password != signing_password(username):
            raise BadCredentials("invalid_grant")
        return TEST_ISSUER.token(
            **claims, sid=f"signing-{uuid.uuid4().hex}", jti=uuid.uuid4().hex, lifetime_s=300
        )


async def signed(
    client: httpx.AsyncClient,
    url: str,
    body: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    *,
    signer: str | None = None,
    password: str | None = None,
    one_component: bool = False,
) -> httpx.Response:
    """POST a signed act as a person does: the first POST answers 428 with the content to
    sign; the second carries its hash and the signer's components (``signer``: the login,
    by default the caller's; ``password`` by default ``signing_password(signer)``)."""
    first = await client.post(url, json=dict(body), headers=headers)
    if first.status_code != 428:
        return first
    if signer is None:
        signer = token_username(headers or client.headers)
    signature: dict[str, Any] = {
        "content_hash": first.json()["content_hash"],
        "password": password or signing_password(signer),
    }
    if not one_component:
        signature["username"] = signer
    return await client.post(url, json={**body, "signature": signature}, headers=headers)


async def cosigned(
    client: httpx.AsyncClient,
    url: str,
    body: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    *,
    signers: Mapping[str, str],
    passwords: Mapping[str, str] | None = None,
) -> httpx.Response:
    """POST an act several people sign (e.g. both parties of a handoff on one tablet): each
    428 names the request field still unsigned (``field``; ``signature`` if it names none),
    which ``signers[field]`` (a login) signs with their password (``passwords[field]``, by
    default ``signing_password``). Returns the first answer that is not such a 428."""
    sent = dict(body)
    while True:
        r = await client.post(url, json=sent, headers=headers)
        if r.status_code != 428:
            return r
        shown = r.json()
        field = shown.get("field", "signature")
        if field in sent or field not in signers:
            return r
        who = signers[field]
        sent[field] = {
            "content_hash": shown["content_hash"],
            "username": who,
            "password": (passwords or {}).get(field) or signing_password(who),
        }


def token_username(headers: Mapping[str, str]) -> str:
    """The login of the person whose bearer token ``headers`` carry (what they sign with)."""
    token = headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    return str(claims.get("preferred_username") or claims["sub"])


def as_machine(client_id: str, *roles: str) -> dict[str, str]:
    """Headers of a machine client (client credentials) with ``roles``."""
    token = TEST_ISSUER.token(
        sub=f"service-account-{client_id}",
        preferred_username=f"service-account-{client_id}",
        name=None,
        azp=client_id,
        client_id=client_id,
        realm_access={"roles": list(roles)},
        sites=None,
        lifetime_s=TOKEN_LIFETIME_S,
    )
    return {"Authorization": f"Bearer {token}"}


# A cell therapy specialist (batch's tests) and a treatment center coordinator (who enrols).
ACTOR_HEADERS: dict[str, Any] = as_user("u-test", "cell-therapy-specialist")
COORDINATOR_HEADERS: dict[str, Any] = as_user("u-coord", "treatment-center-coordinator")
# Identities longer than an Actor may be: every service must answer them with a 4xx problem.
OVERSIZED_IDENTITIES: list[dict[str, Any]] = [
    as_user("u" * 129, "cell-therapy-specialist"),
    as_user("u-long-role", "r" * 65),
]
