"""The journey's processes: the Temporal worker and the Kafka→Temporal bridge."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, TLSConfig
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import OpenTelemetryConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from v2v_events.catalog import Service, consumer_group, events_topic
from v2v_runtime import telemetry
from v2v_runtime.clock import SystemClock, UuidGenerator
from v2v_runtime.consumer import kafka_ready, make_broker, subscribe
from v2v_runtime.db.engine import create_engine, session_factory
from v2v_runtime.db.migrate import upgrade
from v2v_runtime.http import ReadinessCheck
from v2v_runtime.inbox import DeadLetters
from v2v_runtime.kafka import KafkaPublisher
from v2v_runtime.lifecycle import stop_on_signals
from v2v_runtime.logging import configure_logging
from v2v_runtime.service import health_server
from v2v_runtime.uow import UnitOfWork

from . import policies
from .activities import JourneyActivities
from .bridge import JourneyBridge
from .model import JourneyPolicy
from .registrations.store import Registrations
from .settings import JourneySettings
from .workflow import JourneyWorkflow

BRIDGED_TOPICS = [
    events_topic(s) for s in (Service.CUSTODY, Service.LOGISTICS, Service.BATCH, Service.QC)
]


def _read(path: str | None) -> bytes | None:
    return Path(path).read_bytes() if path else None


async def connect(settings: JourneySettings) -> Client:
    """The Temporal client; its tracing interceptor also instruments workers built on it,
    so a trace goes on from the bridge into the workflow, its activities and their commands."""
    tls: TLSConfig | bool = False
    if settings.temporal_tls_ca or settings.temporal_tls_cert or settings.temporal_api_key:
        tls = TLSConfig(
            server_root_ca_cert=_read(settings.temporal_tls_ca),
            client_cert=_read(settings.temporal_tls_cert),
            client_private_key=_read(settings.temporal_tls_key),
        )
    runtime = None
    if settings.temporal_metrics_otlp_url:
        runtime = Runtime(
            telemetry=TelemetryConfig(
                metrics=OpenTelemetryConfig(url=settings.temporal_metrics_otlp_url)
            )
        )
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        interceptors=[TracingInterceptor()],
        tls=tls,
        api_key=api_key,
        runtime=runtime,
    )


def registrations(settings: JourneySettings) -> tuple[Registrations, AsyncEngine]:
    """The journey's store; the caller disposes of the engine."""
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    return (
        Registrations(
            lambda: UnitOfWork(sessions, SystemClock(), UuidGenerator(), settings.source)
        ),
        engine,
    )


def policy_lookup(settings: JourneySettings) -> dict[str, JourneyPolicy]:
    ids = {settings.policy, *settings.policy_by_product.values()}
    return {pid: policies.load(pid) for pid in ids}


def make_worker(client: Client, publisher: KafkaPublisher, task_queue: str) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[JourneyWorkflow],
        activities=JourneyActivities(publisher).all(),
    )


async def run(roles: set[str]) -> None:
    """Run the worker and/or the bridge in this process until SIGTERM/SIGINT."""
    settings = JourneySettings()
    configure_logging("journey", settings.log_level, settings.log_json)
    telemetry.configure("journey")
    if "all" in roles:
        roles = {"worker", "bridge"}
    loaded = policy_lookup(settings)  # fail fast on a missing policy file

    def policy_for(product_code: str) -> JourneyPolicy:
        return loaded[settings.policy_by_product.get(product_code, settings.policy)]

    if settings.migrate_on_start:
        await upgrade(settings.database_url)
    client = await connect(settings)
    store, engine = registrations(settings)
    kafka_opts = settings.kafka_options()
    publisher = KafkaPublisher(settings.kafka_bootstrap_servers, "journey-producer", **kafka_opts)
    await publisher.start()
    stop = stop_on_signals()
    broker = None
    worker: Worker | None = None
    worker_task = None
    server = None
    health_task = None
    try:
        if "worker" in roles:
            worker = make_worker(client, publisher, settings.task_queue)
            worker_task = asyncio.create_task(worker.run())
        if "bridge" in roles:
            group = consumer_group(Service.JOURNEY, "bridge")
            bridge = JourneyBridge(
                client,
                DeadLetters(group, publisher),
                policy_for,
                store,
                task_queue=settings.task_queue,
            )
            broker = make_broker(settings.kafka_bootstrap_servers, "journey-bridge", kafka_opts)
            subscribe(
                broker,
                bridge,
                *BRIDGED_TOPICS,
                max_batch=settings.inbox_max_batch,
                fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
            )
            await broker.start()
        if settings.health_port:
            checks: dict[str, ReadinessCheck] = {"temporal": _temporal_check(client)}
            if broker is not None:
                checks["kafka"] = kafka_ready(broker)
            server = health_server(settings.http_host, settings.health_port, checks)
            health_task = asyncio.create_task(server.serve())
        print(f"journey ready: roles {sorted(roles)}", flush=True)
        await stop.wait()
    finally:
        if server is not None:
            server.should_exit = True
        if health_task is not None:
            with contextlib.suppress(Exception):
                await health_task
        if broker is not None:
            await broker.stop()
        if worker is not None and worker_task is not None:
            # The SDK's graceful way (a cancel could also cut its shutdown short).
            with contextlib.suppress(Exception):
                await worker.shutdown()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await worker_task
        await publisher.stop()
        await engine.dispose()


def _temporal_check(client: Client) -> ReadinessCheck:
    async def check() -> None:
        if not await client.service_client.check_health():
            raise ConnectionError("Temporal frontend not serving")

    return check


def main(argv: Sequence[str] | None = None) -> None:
    args = set(argv if argv is not None else sys.argv[1:]) or {"all"}
    if args == {"migrate"}:
        asyncio.run(upgrade(JourneySettings().database_url))
        print("journey: database schema up to date", flush=True)
        return
    unknown = args - {"worker", "bridge", "all"}
    if unknown:
        raise SystemExit(
            f"roles are worker, bridge, all, or migrate alone (not {', '.join(sorted(unknown))})"
        )
    asyncio.run(run(args))
