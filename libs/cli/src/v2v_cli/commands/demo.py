"""``v2v demo``: a small cohort driven only through the public HTTP APIs."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.markup import escape
from rich.table import Table
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter

from v2v_cli.commands.stack import DataDirOption, _stack
from v2v_cli.journeys import Driver, Endpoints, JourneyError, Patient, Plan, Unreachable
from v2v_cli.output import console, err_console, print_table
from v2v_cli.stack import Stack
from v2v_cli.stack.platform import DEMO_PRODUCT, SERVICES, Platform

# What the demo drives: the services and the journey, on Kafka and Temporal.
NEEDED = ("kafka", "temporal", "keycloak", *SERVICES, "journey")  # keycloak: sign-in

COHORT: list[tuple[str, Patient, Plan]] = [
    ("straight through", Patient("Ada Example", "1961-04-02", "MRN-100231"), Plan()),
    (
        "fails QC, re-manufactured",
        Patient("Ben Example", "1958-09-17", "MRN-100232"),
        Plan(oos_attempts={1}, retained_aliquots=1),
    ),
    (
        "apheresis late, re-collected",
        Patient("Cleo Example", "1970-01-30", "MRN-100233"),
        Plan(late_collection_attempts={1}),
    ),
]


def endpoints_of(config: Any) -> Endpoints:
    return Endpoints(
        custody=f"http://127.0.0.1:{config.custody_port}",
        logistics=f"http://127.0.0.1:{config.logistics_port}",
        batch=f"http://127.0.0.1:{config.batch_port}",
        qc=f"http://127.0.0.1:{config.qc_port}",
        issuer=config.oidc_issuer,
    )


async def run_cohort(
    driver: Driver,
    client: Client,
    ui: str,
    cohort: list[tuple[str, Patient, Plan]],
    wait_s: float,
) -> list[tuple[str, str, str, str]]:
    cois = []
    for label, patient, _ in cohort:
        patient.product_code = DEMO_PRODUCT
        coi = await driver.enroll(patient)
        cois.append(coi)
        console.print(
            f"[bold]{coi}[/] {label}: {ui}/namespaces/default/workflows/journey-{coi}",
            highlight=False,
        )
    await asyncio.gather(
        *(
            driver.journey(patient, plan, coi)
            for (_, patient, plan), coi in zip(cohort, cois, strict=True)
        )
    )
    results = []
    for (label, _, _), coi in zip(cohort, cois, strict=True):
        handle = client.get_workflow_handle(f"journey-{coi}")
        try:
            view = await asyncio.wait_for(handle.result(), wait_s)
            outcome, status = str(view["outcome"]), str(view["status"])
        except WorkflowFailureError as exc:
            outcome, status = str(exc.cause), "failed"
        results.append((coi, label, status, outcome))
    return results


class NotUp(Exception):
    """A part of the platform the demo needs does not answer."""


def not_running(stack: Stack) -> list[str]:
    """The parts the demo needs that are not running, each with its state."""
    rows = stack.status() + Platform(stack).status()
    return [f"{r.name} ({r.state})" for r in rows if r.name in NEEDED and r.state != "running"]


async def connect(address: str) -> Client:
    try:
        return await Client.connect(address, data_converter=pydantic_data_converter)
    except RuntimeError as exc:  # the SDK's "Failed client connect: … Connection refused"
        raise NotUp(f"Temporal does not answer at {address}") from exc


def _not_up(stack: Stack, why: str, data_dir: Path | None) -> typer.Exit:
    where = f" --data-dir {data_dir}" if data_dir is not None else ""
    err_console.print(
        f"[bold red]The platform is not up[/] ({stack.config.data_dir}): {escape(why)}.\n"
        f"Start it with `./v2v up{where}`, then run `./v2v demo{where}` again; "
        f"`./v2v status{where}` shows each part.",
        highlight=False,
    )
    return typer.Exit(1)


def demo(
    data_dir: DataDirOption = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for each step")] = 180.0,
) -> None:
    """Run three journeys through the HTTP APIs: one straight through, one that fails QC and
    is re-manufactured from retained material, one whose apheresis arrives too late and is
    re-collected. Needs `v2v up` first; watch them in the Temporal Web UI."""
    stack = _stack(data_dir)
    missing = not_running(stack)
    if missing:
        raise _not_up(stack, ", ".join(missing), data_dir)
    config = stack.recorded_config() or stack.config
    eps = stack.endpoints()
    ui = eps.get("temporal_ui_url", config.temporal_ui_url)

    async def main() -> list[tuple[str, str, str, str]]:
        client = await connect(eps.get("temporal_address", config.temporal_address))
        driver = Driver(
            endpoints_of(config),
            log=lambda m: console.print(f"  {m}", highlight=False),
            timeout=timeout,
        )
        # Custody refuses a second active enrolment of a patient: each run enrolls its own
        # patients, so the demo can run again before the last run's journeys have ended.
        run = f"{int(time.time()) % 1_000_000:06d}"
        cohort = [
            (label, dataclasses.replace(p, mrn=f"{p.mrn}-{run}"), plan) for label, p, plan in COHORT
        ]
        try:
            return await run_cohort(driver, client, ui, cohort, timeout)
        finally:
            await driver.close()

    started = time.monotonic()
    try:
        results = asyncio.run(main())
    except NotUp as exc:
        raise _not_up(stack, str(exc), data_dir) from None
    except (Unreachable, httpx.TransportError, OSError) as exc:
        cause = exc.__cause__ if isinstance(exc, Unreachable) and exc.__cause__ else exc
        why = f"a service stopped answering: {type(cause).__name__}: {cause}"
        raise _not_up(stack, why, data_dir) from None
    except JourneyError as exc:
        err_console.print(f"[bold red]demo failed:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    table = Table(title=f"demo cohort ({time.monotonic() - started:.0f} s)")
    for col in ("CoI", "journey", "status", "outcome"):
        table.add_column(col)
    for row in results:
        table.add_row(*row)
    print_table(table)
    if any(status != "completed" for _, _, status, _ in results):
        raise typer.Exit(1)


def register_top_level(root: typer.Typer) -> None:
    root.command()(demo)
