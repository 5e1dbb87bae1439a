"""The composition kit every service uses: database, unit of work, HTTP app, inbox
consumers, outbox relay and sealer, and one runner for the roles (api, consumer, relay, or
all)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from pydantic import Field, ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from v2v_events.catalog import commands_topic, consumer_group, seals_topic
from v2v_events.registry import Contract

from . import idempotency_http, telemetry
from .audit_trail_query import AuditTrailSpec
from .auth import OidcSettings, TokenVerifier, install_token_verifier
from .clock import Clock, IdGenerator, SystemClock, UuidGenerator
from .consumer import kafka_ready, make_broker, subscribe
from .db.engine import create_engine, session_factory
from .db.migrate import upgrade
from .docs_ui import install_docs
from .http import (
    PROBLEM_RESPONSES,
    Problem,
    ReadinessCheck,
    health_router,
    install_problem_handlers,
    problem,
)
from .inbox import Handler, InboxProcessor
from .kafka import KafkaPublisher, Publisher
from .lifecycle import stop_on_signals
from .lineage_http import LineageMiddleware
from .logging import configure_logging
from .reasons import ReasonCodes, load_reason_codes
from .relay import OutboxRelay
from .repository import Persistence, rebuild
from .seal import Sealer
from .seal_external import external_seal_reader
from .settings import RuntimeSettings
from .signatures.gate import Signing, SigningRefusal
from .signatures.notify import SecurityNotifier, notifier_for
from .signatures.reauth import PasswordGrant, Reauthenticator
from .signatures.settings import SigningSettings
from .trail_heads import TrailHeads
from .uow import UnitOfWork
from .windows import ReportedTimeWindow

log = logging.getLogger("v2v.service")


class ServiceSettings(RuntimeSettings):
    http_host: str = "127.0.0.1"
    http_port: int = Field(8000, ge=1, le=65535)
    migrate_on_start: bool = Field(
        True, description="upgrade the schema at start (off where a migration job runs)"
    )
    health_port: int | None = Field(
        None, ge=1, le=65535, description="/healthz and /readyz for roles without the API"
    )
    idempotency_wait_s: float = Field(
        5.0,
        ge=0,
        description="how long a repeated Idempotency-Key request waits for the first "
        "request's response before answering 409",
    )
    # Times people report (collection end, courier pickup, infusion, a manufacturing step):
    # at most this far ahead of the service's clock (clock skew) ...
    future_tolerance_minutes: float = Field(5, ge=0, le=24 * 60)
    # ... and at most this far in the past.
    reported_time_max_age_days: float = Field(90, gt=0, le=3650)
    # Recorded more than this after the time it reports: the entry is marked late.
    late_entry_minutes: float = Field(60, gt=0, le=30 * 24 * 60)
    reason_codes_config: Path | None = Field(
        None,
        description="reason codes JSON (V2V_REASON_CODES_CONFIG); default: the version "
        "shipped with the runtime (config/reason-codes.v1.json)",
    )

    @property
    def reported_times(self) -> ReportedTimeWindow:
        return ReportedTimeWindow(
            future_tolerance=timedelta(minutes=self.future_tolerance_minutes),
            max_age=timedelta(days=self.reported_time_max_age_days),
            late_after=timedelta(minutes=self.late_entry_minutes),
        )


# A service's own background work (e.g. QC's notification delivery): run until ``stop`` in
# the relay role's process — one per database, as the relay — and given the kit.
BackgroundTask = Callable[["ServiceKit", asyncio.Event], Coroutine[Any, Any, None]]


class Role(StrEnum):
    API = "api"
    CONSUMER = "consumer"
    RELAY = "relay"
    ALL = "all"


@dataclass
class ServiceSpec:
    """What a service is made of; built by its bootstrap (composition root)."""

    name: str
    settings: ServiceSettings
    migrations: Sequence[Path]
    routers: Sequence[APIRouter]
    # Contract type -> handler, for the commands topic and the events topics subscribed to.
    handlers: Mapping[type[Contract], Handler]
    subscribed_topics: Sequence[str] = ()
    title: str = ""
    clock: Clock = field(default_factory=SystemClock)
    ids: IdGenerator = field(default_factory=UuidGenerator)
    # The service's codec, projector, read tables and ports (see v2v_runtime.repository).
    persistence: Persistence | None = None
    # Verifies bearer tokens; by default from V2V_OIDC_* (the site's OpenID Connect provider).
    token_verifier: TokenVerifier | None = None
    # Whose records its streams hold (and how identity is disclosed): GET /audit-trail.
    audit_trail: AuditTrailSpec | None = None
    # Re-authenticates signers; by default the provider's password grant on the signing
    # client (V2V_SIGNING_*). Tests pass v2v_runtime.testing.TestReauthenticator.
    reauthenticator: Reauthenticator | None = None
    security_notifier: SecurityNotifier | None = None
    # Singletons beside the relay (see BackgroundTask).
    background: Sequence[BackgroundTask] = ()

    @property
    def api_routers(self) -> list[APIRouter]:
        """The routers the kit mounts: the service's own, then its audit trail."""
        from .audit_trail_http import audit_trail_router  # it depends on the kit

        routers = list(self.routers)
        if self.audit_trail is not None:
            routers.append(audit_trail_router(self.name, self.audit_trail))
        return routers


class ServiceKit:
    """Built once per process from a spec."""

    def __init__(self, spec: ServiceSpec) -> None:
        self.spec = spec
        self.settings = spec.settings
        self.engine: AsyncEngine = create_engine(spec.settings.database_url)
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(self.engine)
        self.clock = spec.clock
        self.ids = spec.ids
        # Loaded at start: a broken file stops the service, not the first correction.
        self.reason_codes: ReasonCodes = load_reason_codes(spec.settings.reason_codes_config)
        self._verifier: TokenVerifier | None = None
        self._signing: Signing | None = None

    def uow(self) -> UnitOfWork:
        trail = self.spec.audit_trail
        return UnitOfWork(
            self.sessions,
            self.clock,
            self.ids,
            self.settings.source,
            persistence=self.spec.persistence,
            trail=None if trail is None else TrailHeads(self.spec.name, trail.scope),
        )

    def token_verifier(self) -> TokenVerifier:
        """The spec's verifier, else one for the provider named by V2V_OIDC_ISSUER (made
        once per kit: its key cache is shared by every app the kit builds)."""
        if self._verifier is None:
            if self.spec.token_verifier is not None:
                self._verifier = self.spec.token_verifier
            else:
                try:
                    settings = OidcSettings()
                except ValidationError as exc:
                    raise RuntimeError(
                        "set V2V_OIDC_ISSUER (and, if not the default, V2V_OIDC_AUDIENCE): "
                        f"every API request is authenticated by the site's provider\n{exc}"
                    ) from None
                self._verifier = TokenVerifier.from_settings(settings)
        return self._verifier

    def signing(self) -> Signing:
        """How this service's signed acts authenticate signers (made once per kit)."""
        if self._signing is None:
            settings = SigningSettings()
            verifier = self.token_verifier()
            reauth = self.spec.reauthenticator or PasswordGrant(
                token_url=settings.token_url,
                discovery_url=verifier.settings.discovery,
                client_id=settings.client_id,
                scope=settings.scope,
                client_secret=(
                    None
                    if settings.client_secret is None
                    else settings.client_secret.get_secret_value()
                ),
                timeout_s=verifier.settings.http_timeout_s,
            )
            notifier = self.spec.security_notifier or notifier_for(settings)
            self._signing = Signing(
                settings, reauth, verifier, notifier, self.uow, self.clock, self.ids
            )
        return self._signing

    async def rebuild(self) -> int:
        """Read models from the event store (v2v rebuild); returns the events applied."""
        if self.spec.persistence is None:
            raise RuntimeError(f"{self.spec.name} declares no persistence to rebuild")
        async with self.uow() as uow:
            return await rebuild(uow, self.spec.persistence)

    async def migrate(self) -> None:
        await upgrade(self.settings.database_url, list(self.spec.migrations))

    async def check_database(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    @property
    def group(self) -> str:
        return consumer_group(self.spec.name, "inbox")

    @property
    def topics(self) -> list[str]:
        return [commands_topic(self.spec.name), *self.spec.subscribed_topics]

    def inbox(
        self, dead_letters: Publisher, *, max_attempts: int, retry_backoff: float
    ) -> InboxProcessor:
        """The service's inbox: its handlers, its group; unknown commands are dead-lettered."""
        return InboxProcessor(
            self.group,
            self.uow,
            self.spec.handlers,
            dead_letters,
            commands_topics={commands_topic(self.spec.name)},
            max_attempts=max_attempts,
            retry_backoff=retry_backoff,
        )

    def http_app(self, *, manage_lifecycle: bool = True) -> FastAPI:
        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            if manage_lifecycle:
                await self.migrate()
            yield
            if manage_lifecycle:
                await self.engine.dispose()

        app = FastAPI(
            title=self.spec.title or f"vein2vein {self.spec.name}",
            lifespan=lifespan,
            version="1",
            responses=PROBLEM_RESPONSES,
            docs_url=None,
            redoc_url=None,
        )
        app.state.kit = self
        install_token_verifier(app, self.token_verifier())
        install_docs(app)
        # A server span per request: the command's trace starts here and goes on through
        # the outbox row into Kafka.
        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz")
        app.include_router(health_router({"database": self.check_database}))
        for router in self.spec.api_routers:
            app.include_router(router)
        install_problem_handlers(app)

        @app.exception_handler(SigningRefusal)
        async def _signing_refused(_: Request, exc: SigningRefusal) -> JSONResponse:
            # Recorded here, once the act's transaction has rolled back (11.300(d)).
            failed = await self.signing().record_refusal(exc)
            return problem(
                failed.status,
                failed.title,
                failed.detail,
                f"urn:vein2vein:problem:{failed.code}",
                **failed.extra,
            )

        app.add_middleware(LineageMiddleware)
        app.add_middleware(
            idempotency_http.IdempotencyMiddleware,
            openapi=lambda: app.openapi(),
            sessions=self.sessions,
            clock=self.clock,
            wait_s=self.settings.idempotency_wait_s,
        )
        _document_problems(app)
        return app


def _document_problems(app: FastAPI) -> None:
    """Add the Problem schema to the OpenAPI components and drop FastAPI's own 422 model,
    which our handlers never send (they answer with problem+json); declare the
    Idempotency-Key header on every POST."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, routes=app.routes, description=app.description
            )
            comps = schema.setdefault("components", {}).setdefault("schemas", {})
            comps["Problem"] = Problem.model_json_schema()
            for path in schema.get("paths", {}).values():
                for op in path.values():
                    resp = op.get("responses", {}).get("422")
                    if resp:
                        resp["content"] = PROBLEM_RESPONSES[422]["content"]
            for name in ("HTTPValidationError", "ValidationError"):
                comps.pop(name, None)
            idempotency_http.document(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def health_server(host: str, port: int, checks: Mapping[str, ReadinessCheck]) -> uvicorn.Server:
    """A small server with only /healthz and /readyz, for processes that serve no API
    (consumers, relays, workers) so orchestrators can probe them the same way."""
    app = FastAPI(title="health", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(health_router(checks))
    return uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    )


def kit_of(app: FastAPI) -> ServiceKit:
    kit = app.state.kit
    assert isinstance(kit, ServiceKit)
    return kit


async def run(spec: ServiceSpec, roles: set[Role]) -> None:
    """Run the given roles in this process until SIGTERM/SIGINT."""
    s = spec.settings
    configure_logging(spec.name, s.log_level, s.log_json)
    if Role.ALL in roles:
        roles = {Role.API, Role.CONSUMER, Role.RELAY}
    kit = ServiceKit(spec)
    if s.migrate_on_start:
        await kit.migrate()
    stop = stop_on_signals()

    # The api role only writes the outbox: it needs no broker to answer.
    telemetry.configure(spec.name)
    kafka_opts = s.kafka_options()
    publisher = KafkaPublisher(s.kafka_bootstrap_servers, f"{spec.name}-producer", **kafka_opts)
    needs_kafka = bool(roles & {Role.CONSUMER, Role.RELAY})
    if needs_kafka:
        await publisher.start()
    tasks: list[asyncio.Task[None]] = []
    broker = None
    server: uvicorn.Server | None = None
    try:
        if Role.CONSUMER in roles:
            processor = kit.inbox(
                publisher,
                max_attempts=s.inbox_max_attempts,
                retry_backoff=s.inbox_retry_backoff_s,
            )
            broker = make_broker(s.kafka_bootstrap_servers, f"{spec.name}-consumer", kafka_opts)
            subscribe(
                broker,
                processor,
                *kit.topics,
                max_batch=s.inbox_max_batch,
                fetch_max_wait_ms=s.kafka_fetch_max_wait_ms,
            )
            await broker.start()
            log.info("consumer started", extra={"group": kit.group, "topics": kit.topics})
        if Role.RELAY in roles:
            relay = OutboxRelay(
                kit.sessions,
                publisher,
                kit.clock,
                batch_size=s.relay_batch_size,
                poll_interval=s.relay_poll_interval_s,
                service=spec.name,
            )
            tasks.append(asyncio.create_task(relay.run(stop)))
            # The relay is one per database: the sealer, a singleton too, runs beside it.
            topic = seals_topic(spec.name)
            sealer = Sealer(
                kit.sessions,
                kit.clock,
                spec.name,
                topic,
                external=external_seal_reader(
                    s.kafka_bootstrap_servers, topic, spec.name, kafka_opts
                ),
            )
            tasks.append(asyncio.create_task(sealer.run(stop, s.seal_interval_s)))
            for work in spec.background:
                tasks.append(asyncio.create_task(work(kit, stop)))
        if Role.API not in roles and s.health_port:
            checks: dict[str, ReadinessCheck] = {"database": kit.check_database}
            if broker is not None:
                checks["kafka"] = kafka_ready(broker)
            server = health_server(s.http_host, s.health_port, checks)
            tasks.append(asyncio.create_task(server.serve()))
        if Role.API in roles:
            config = uvicorn.Config(
                kit.http_app(manage_lifecycle=False),
                host=s.http_host,
                port=s.http_port,
                log_config=None,
                access_log=False,
            )
            server = uvicorn.Server(config)
            tasks.append(asyncio.create_task(server.serve()))
            log.info("api listening", extra={"port": s.http_port})
        print(f"{spec.name} ready: roles {sorted(r.value for r in roles)}", flush=True)
        await stop.wait()
    finally:
        if server is not None:
            server.should_exit = True
        stop.set()
        for task in tasks:
            with contextlib.suppress(Exception):
                await task
        if broker is not None:
            await broker.stop()
        if needs_kafka:
            await publisher.stop()
        await kit.engine.dispose()


async def migrate(spec: ServiceSpec) -> None:
    kit = ServiceKit(spec)
    try:
        await kit.migrate()
    finally:
        await kit.engine.dispose()


async def rebuild_read_models(spec: ServiceSpec) -> int:
    """Bring the schema up to date, then rebuild the read models from the event store."""
    kit = ServiceKit(spec)
    try:
        await kit.migrate()
        return await kit.rebuild()
    finally:
        await kit.engine.dispose()


def main(build: Callable[[], ServiceSpec], argv: Sequence[str] | None = None) -> None:
    """``python -m v2v_<service> [api|consumer|relay|all ...]`` (default: all);
    ``python -m v2v_<service> migrate`` to bring the database schema up to date and exit;
    ``python -m v2v_<service> rebuild`` to rebuild the read models from the event store."""
    import sys

    args = list(argv if argv is not None else sys.argv[1:]) or ["all"]
    if args == ["migrate"]:
        spec = build()
        asyncio.run(migrate(spec))
        print(f"{spec.name}: database schema up to date", flush=True)
        return
    if args == ["rebuild"]:
        spec = build()
        count = asyncio.run(rebuild_read_models(spec))
        print(f"{spec.name}: read models rebuilt from {count} events", flush=True)
        return
    try:
        roles = {Role(a) for a in args}
    except ValueError:
        raise SystemExit(f"roles are: {', '.join(r.value for r in Role)}") from None
    asyncio.run(run(build(), roles))
