"""Kafka, Temporal, PostgreSQL and Keycloak for test suites, from the best source available:

1. endpoints given in the environment (CI services, a developer's own stack):
   ``V2V_TEST_KAFKA_BOOTSTRAP``, ``V2V_TEST_TEMPORAL_ADDRESS``, ``V2V_TEST_DATABASE_URL``
   (a PostgreSQL URL; its database name is replaced per test database),
   ``V2V_TEST_OIDC_ISSUER`` (a provider with the vein2vein realm imported);
2. Docker via testcontainers for Kafka and PostgreSQL, when an engine answers (Temporal
   and Keycloak always come from the native launcher);
3. the native launcher, in a temp data dir on free ports, so a developer's running stack on
   the default ports is never touched.

Each component is chosen separately; catalog topics are created in every case. PostgreSQL
and Keycloak are opt-in. Usage::

    with provision_stack(need_postgres=True, need_keycloak=True) as infra:
        infra.kafka_bootstrap, infra.temporal_address, infra.postgres_url_for("v2v_test")
        infra.oidc_issuer
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from temporalio.client import Client

from v2v_cli.stack.config import SERVICE_DATABASES, TEST_DATABASE, StackConfig
from v2v_cli.stack.errors import StackError
from v2v_cli.stack.kafka import ensure_topics
from v2v_cli.stack.launcher import Stack
from v2v_cli.stack.process import free_ports, run_async
from v2v_journey.provision import ensure_search_attributes

Source = Literal["external", "docker", "native"]

ENV_KAFKA = "V2V_TEST_KAFKA_BOOTSTRAP"
ENV_TEMPORAL = "V2V_TEST_TEMPORAL_ADDRESS"
ENV_DATABASE = "V2V_TEST_DATABASE_URL"
ENV_OIDC_ISSUER = "V2V_TEST_OIDC_ISSUER"
TEST_DATABASES: tuple[str, ...] = (*SERVICE_DATABASES, TEST_DATABASE)
KAFKA_IMAGE = "confluentinc/cp-kafka:7.9.0"
POSTGRES_IMAGE = "postgres:16-alpine"


def with_database(url: str, dbname: str) -> str:
    """``url`` pointing at database ``dbname`` instead (credentials, host and driver kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


@dataclass
class ProvisionedStack:
    kafka_bootstrap: str
    temporal_address: str
    temporal_namespace: str = "default"
    postgres_base_url: str | None = None  # None when PostgreSQL was not asked for
    oidc_issuer: str | None = None  # None when Keycloak was not asked for
    # How each component was obtained, e.g. {"kafka": "native", "temporal": "native"}.
    sources: dict[str, Source] = field(default_factory=dict)
    data_dir: Path | None = None  # the native stack's temp data dir, if one was started
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def postgres_url_for(self, dbname: str) -> str | None:
        """SQLAlchemy URL (asyncpg driver) of ``dbname``; None without PostgreSQL."""
        if self.postgres_base_url is None:
            return None
        return with_database(self.postgres_base_url, dbname)

    async def create_database(self, dbname: str) -> str:
        """Create a fresh database ``dbname`` and return its URL (PostgreSQL only)."""
        if self.postgres_base_url is None:
            raise RuntimeError("this stack was provisioned without PostgreSQL")
        await _create_databases(self.postgres_base_url, [dbname])
        return with_database(self.postgres_base_url, dbname)

    @property
    def how(self) -> str:
        return ", ".join(f"{name}={source}" for name, source in self.sources.items())

    def close(self) -> None:
        """Stop what was started for this run (in reverse order); idempotent."""
        errors: list[BaseException] = []
        while self._closers:
            try:
                self._closers.pop()()
            except Exception as exc:  # keep closing the rest
                errors.append(exc)
        if errors:
            raise StackError(f"closing the test stack failed: {errors}")

    def __enter__(self) -> ProvisionedStack:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def docker_available() -> bool:
    """A Docker engine answers and testcontainers is installed."""
    if importlib.util.find_spec("testcontainers") is None or shutil.which("docker") is None:
        return False
    if not Path("/var/run/docker.sock").exists() and not os.environ.get("DOCKER_HOST"):
        return False
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return info.returncode == 0


def provision_stack(need_postgres: bool = False, need_keycloak: bool = False) -> ProvisionedStack:
    env = os.environ
    kafka = env.get(ENV_KAFKA) or None
    temporal = env.get(ENV_TEMPORAL) or None
    database = (env.get(ENV_DATABASE) or None) if need_postgres else None
    issuer = (env.get(ENV_OIDC_ISSUER) or None) if need_keycloak else None
    sources: dict[str, Source] = {}
    if kafka:
        sources["kafka"] = "external"
    if temporal:
        sources["temporal"] = "external"
    if database:
        sources["postgres"] = "external"
    if issuer:
        sources["keycloak"] = "external"

    infra = ProvisionedStack(kafka_bootstrap=kafka or "", temporal_address=temporal or "")
    try:
        use_docker = (not kafka or (need_postgres and not database)) and docker_available()
        if use_docker:
            if not kafka:
                infra.kafka_bootstrap = _docker_kafka(infra._closers)
                sources["kafka"] = "docker"
            if need_postgres and not database:
                database = _docker_postgres(infra._closers)
                sources["postgres"] = "docker"
        native_kafka = not infra.kafka_bootstrap
        native_pg = need_postgres and not database
        native_kc = need_keycloak and not issuer
        if native_kafka or not temporal or native_pg or native_kc:
            stack = _native_stack(
                infra, kafka=native_kafka, temporal=not temporal, pg=native_pg, keycloak=native_kc
            )
            cfg = stack.config
            if native_kafka:
                infra.kafka_bootstrap = cfg.kafka_bootstrap
                sources["kafka"] = "native"
            if not temporal:
                infra.temporal_address = cfg.temporal_address
                infra.temporal_namespace = cfg.temporal_namespace
                sources["temporal"] = "native"
            if native_pg:
                database = cfg.postgres_url("postgres")
                sources["postgres"] = "native"
            if native_kc:
                issuer = cfg.oidc_issuer
                sources["keycloak"] = "native"
        # The native launcher already created the topics; external/Docker brokers need them.
        if sources["kafka"] != "native":
            run_async(ensure_topics(infra.kafka_bootstrap))
        if sources["temporal"] == "external":
            run_async(_register_search_attributes(infra.temporal_address))
        # Docker's container got them at start; the native cluster holds the platform's.
        if database and sources.get("postgres") in ("external", "native"):
            run_async(_create_databases(database, TEST_DATABASES))
        infra.postgres_base_url = database
        infra.oidc_issuer = issuer
        components = ("kafka", "temporal", "postgres", "keycloak")
        infra.sources = {k: sources[k] for k in components if k in sources}
    except BaseException:
        infra.close()
        raise
    return infra


def _native_stack(
    infra: ProvisionedStack, *, kafka: bool, temporal: bool, pg: bool, keycloak: bool
) -> Stack:
    data_dir = Path(tempfile.mkdtemp(prefix="v2v-test-stack-"))
    ports = free_ports(6)
    config = StackConfig.from_env().replace(
        data_dir=data_dir,
        kafka_port=ports[0],
        kafka_controller_port=ports[1],
        temporal_port=ports[2],
        temporal_ui_port=ports[3],
        postgres_port=ports[4],
        keycloak_port=ports[5],
    )
    stack = Stack(config)
    infra.data_dir = config.data_dir
    infra._closers.append(stack.purge)  # stops the servers, then deletes their data
    stack.up(postgres=pg, kafka=kafka, temporal=temporal, keycloak=keycloak)
    return stack


def _docker_kafka(closers: list[Callable[[], None]]) -> str:
    from testcontainers.kafka import KafkaContainer

    container: Any = KafkaContainer(KAFKA_IMAGE).with_kraft()
    container.start()
    closers.append(container.stop)
    return str(container.get_bootstrap_server())


def _docker_postgres(closers: list[Callable[[], None]]) -> str:
    from testcontainers.postgres import PostgresContainer

    # A throwaway container reachable only from this machine: a fixed password is fine.
    container: Any = PostgresContainer(
        POSTGRES_IMAGE,
        username="v2v",
        password="v2v",  # noqa: S106
        dbname="postgres",
    )
    container.start()
    closers.append(container.stop)
    for db in TEST_DATABASES:
        result = container.exec(
            ["psql", "-U", "v2v", "-d", "postgres", "-c", f'CREATE DATABASE "{db}"']
        )
        if result.exit_code != 0:
            raise StackError(f"creating database {db} in the container failed: {result.output!r}")
    host = container.get_container_host_ip()
    port = container.get_exposed_port(5432)
    return f"postgresql+asyncpg://v2v:v2v@{host}:{port}/postgres"


async def _register_search_attributes(address: str) -> None:
    client = await Client.connect(address)
    await ensure_search_attributes(client, client.namespace)


async def _create_databases(url: str, names: Iterable[str]) -> None:
    """Create missing databases if we may (best effort on an external server)."""
    import asyncpg  # type: ignore[import-untyped]

    dsn = with_database(url, "postgres").replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT datname FROM pg_database")
        existing = {row["datname"] for row in rows}
        for name in names:
            if name not in existing:
                with contextlib.suppress(asyncpg.PostgresError):
                    await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
