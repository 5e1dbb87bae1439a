"""``v2v audit verify``: check a service's event store for tampering: hash chains, seals,
the newest seal outside the database (Kafka), and the service's own read-model checks."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_events.catalog import seals_topic
from v2v_runtime.audit import AuditReport, verify
from v2v_runtime.db.engine import create_snapshot_engine, session_factory
from v2v_runtime.seal import Seal
from v2v_runtime.seal_external import ExternalSealError, newest_external_seal
from v2v_runtime.settings import RuntimeSettings

from ..audit_store import (
    StoreUnreadable,
    describe,
    inspect_store,
    is_sealed,
    service_checks,
    to_url,
)
from ..output import console

app = typer.Typer(help="Audit-trail integrity of the event stores.", no_args_is_help=True)


@dataclass
class Audit:
    report: AuditReport
    service: str | None
    topic: str | None
    bootstrap: str | None
    checks_of: str | None  # the service whose read-model checks ran


async def _external(bootstrap: str, topic: str, service: str) -> Seal | None:
    try:
        options = RuntimeSettings().kafka_options()
        return await newest_external_seal(bootstrap, topic, service, options=options)
    except (ExternalSealError, ValueError) as exc:
        raise StoreUnreadable(f"the external seal could not be read: {exc}") from exc


async def run_audit(
    url: str, bootstrap: str | None, service: str | None, topic: str | None
) -> Audit:
    engine = create_snapshot_engine(url)
    try:
        async with engine.connect() as conn:
            found = await inspect_store(conn)
        service = service or found
        if bootstrap and not service:
            raise StoreUnreadable("which service's seals? The store does not say: give --service")
        if bootstrap and service and not topic and is_sealed(service):
            topic = seals_topic(service)
        # The outside first: a seal made while the store is read is then in the snapshot.
        external = (
            await _external(bootstrap, topic, service) if bootstrap and topic and service else None
        )
        checks = service_checks(service) if service else []
        session: AsyncSession
        async with session_factory(engine)() as session:
            report = await verify(session, external=external, checks=checks)
        return Audit(report, service, topic, bootstrap, service if checks else None)
    finally:
        await engine.dispose()


def _print(audit: Audit) -> None:
    r = audit.report
    # A service that does not seal its store (the journey) has no seals to compare.
    unsealed = audit.service is not None and not is_sealed(audit.service)
    if audit.service:
        console.print(f"service: {audit.service}")
    console.print(
        f"checked {r.events_checked} events in {r.streams_checked} streams, "
        f"{r.signatures_checked} signatures"
    )
    if r.newest_seal is None:
        console.print(
            f"seals: none ({audit.service} does not seal its store)"
            if unsealed
            else "seals: none in the store yet"
        )
    else:
        newest = r.newest_seal
        console.print(
            f"seals: {r.seals_checked} checked, newest #{newest.seq} sealed "
            f"{newest.sealed_at.isoformat()}"
        )
    if audit.bootstrap and not audit.topic:
        console.print(f"external seal: not compared ({audit.service} publishes no seals)")
    elif not audit.bootstrap:
        console.print(
            "external seal: not compared (give --kafka-bootstrap or V2V_KAFKA_BOOTSTRAP_SERVERS)"
        )
    elif r.external_seal is None:
        console.print(f"external seal: none on {audit.topic} at {audit.bootstrap}")
    else:
        ext = r.external_seal
        console.print(
            f"external seal: #{ext.seq} from {audit.topic} at {audit.bootstrap}, sealed "
            f"{ext.sealed_at.isoformat()}"
        )
    for check in r.checks:
        console.print(f"{audit.checks_of} check: {escape(check.name)}: {check.checked} checked")


@app.command("verify")
def verify_cmd(
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="the service's database URL, or a SQLite file path (./v2v up lists them in "
            ".v2v/endpoints.json) [env V2V_DATABASE_URL]",
        ),
    ] = None,
    kafka_bootstrap: Annotated[
        str | None,
        typer.Option(
            "--kafka-bootstrap",
            help="compare with the newest seal on Kafka [env V2V_KAFKA_BOOTSTRAP_SERVERS]",
        ),
    ] = None,
    service: Annotated[
        str | None,
        typer.Option(
            "--service", help="the store's service (default: from its migrations or events)"
        ),
    ] = None,
    seals_topic_name: Annotated[
        str | None,
        typer.Option("--seals-topic", help="default: v2v.<service>.seals"),
    ] = None,
) -> None:
    """Recompute every event's hash and chain, the seals, and each stream against its seal;
    compare the store with the newest seal outside it; name each altered, removed or
    reordered record, each stream missing or behind, and a store behind the external seal.

    Exit code 0: intact. 1: tampering found. 2: the store (or the external seal) could not
    be read.
    """
    given = database_url or os.environ.get("V2V_DATABASE_URL")
    if not given:
        console.print("[red]give --database-url or set V2V_DATABASE_URL[/red]")
        raise typer.Exit(2)
    bootstrap = kafka_bootstrap or os.environ.get("V2V_KAFKA_BOOTSTRAP_SERVERS") or None
    try:
        url = to_url(given)
        console.print(f"store: {escape(describe(url))}")
        audit = asyncio.run(run_audit(url, bootstrap, service, seals_topic_name))
    except StoreUnreadable as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    except Exception as exc:
        console.print(
            f"[red]could not read the event store: {type(exc).__name__}: {escape(str(exc))}[/red]"
        )
        raise typer.Exit(2) from exc
    _print(audit)
    if audit.report.ok:
        console.print("[green]audit trail intact[/green]")
        return
    for finding in audit.report.findings:
        console.print(f"[red]TAMPERED[/red] {escape(str(finding))}")
    console.print(f"[red]{len(audit.report.findings)} finding(s)[/red]")
    raise typer.Exit(1)
