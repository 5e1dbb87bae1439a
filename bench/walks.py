"""Walking one journey of the cohort, and telling how it ended: completed, failed (with the
reason), lost; and whether a command was applied twice."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client, WorkflowFailureError, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from v2v_cli.journeys import LOGISTICS, SPECIALIST, Driver, Patient, Plan

BROKEN_OFF_GRACE_S = 30.0  # a journey whose walk broke off may still be closing by itself


@dataclass
class Journey:
    patient: Patient
    coi: str = ""
    enrolled_at: float = 0.0  # wall clock (time.time), comparable with Temporal's times
    ended_at: float | None = None
    status: str = "lost"  # completed | failed | lost
    outcome: str = ""  # the workflow's outcome, or why it failed / was lost
    driver_error: str = ""
    settled: bool = False  # its fate is known (for the progress lines)
    doubled: list[str] = field(default_factory=list)


async def _workflow_end(client: Client, j: Journey, deadline: float) -> None:
    """Wait for the journey's workflow to close; record how it ended."""
    handle = client.get_workflow_handle(f"journey-{j.coi}")
    while time.monotonic() < deadline:
        try:
            view = await asyncio.wait_for(handle.result(), max(1.0, deadline - time.monotonic()))
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            await asyncio.sleep(0.5)  # not started yet
            continue
        except WorkflowFailureError as exc:
            j.ended_at, j.status, j.outcome = time.time(), "failed", str(exc.cause or exc)
            return
        except TimeoutError:
            break
        j.ended_at = time.time()
        j.status = "completed" if view.get("status") == "completed" else "failed"
        j.outcome = str(view.get("outcome"))
        return
    j.status, j.outcome = "lost", await _why_lost(client, j)


async def _why_lost(client: Client, j: Journey) -> str:
    try:
        desc = await client.get_workflow_handle(f"journey-{j.coi}").describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return "no journey was started for this enrolment"
        raise
    status = desc.status.name if desc.status else "unknown"
    stage = (desc.search_attributes.get("JourneyStage") or ["?"])[0]
    return f"workflow {status} at stage {stage}"


async def follow(
    driver: Driver, client: Client, j: Journey, gate: asyncio.Semaphore, deadline: float
) -> None:
    """Walk one journey while watching its workflow; a workflow that ends stops the walk.
    A walk that ends (or breaks off) frees its place; the workflow is awaited regardless."""
    end = asyncio.create_task(_workflow_end(client, j, deadline))
    async with gate:
        drive = asyncio.create_task(driver.journey(j.patient, Plan(), j.coi))
        await asyncio.wait({drive, end}, return_when=asyncio.FIRST_COMPLETED)
        if not drive.done():
            drive.cancel()
        try:
            await drive
        except asyncio.CancelledError:
            pass  # the workflow ended first: nothing left to walk
        except Exception as exc:
            j.driver_error = f"{type(exc).__name__}: {exc}"[:300]
    if j.driver_error and not end.done():
        # Nobody walks this journey on: only its own deadlines could still end it (a new
        # collection waits for its date, days away). Give it a moment to close, then say
        # why it stopped.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(end), BROKEN_OFF_GRACE_S)
        if not end.done():
            end.cancel()
            await _broke_off(client, j)
    with contextlib.suppress(asyncio.CancelledError):
        await end
    j.settled = True


async def _broke_off(client: Client, j: Journey) -> None:
    """The walk broke off while the workflow runs on. Failed if the journey had given up on a
    step (a deadline passed: it compensated and went another way) or an API refused a step;
    lost if both sides were waiting for a step that never came."""
    where = await _why_lost(client, j)
    compensated = [
        str(h.get("note"))
        for h in await _history(client, j)
        if h.get("stage") == "compensating" and not str(h.get("note")).startswith("compensated")
    ]
    if compensated:
        j.status = "failed"
        j.outcome = f"the journey compensated ({compensated[0]}); the walk broke off; {where}"
    elif "timed out waiting" in j.driver_error:
        j.status, j.outcome = "lost", f"a step never came ({j.driver_error}); {where}"
    else:
        j.status, j.outcome = "failed", f"an API refused a step ({j.driver_error}); {where}"


async def _history(client: Client, j: Journey) -> list[dict[str, Any]]:
    """The journey's own history (its ``status`` query), empty if it cannot answer."""
    try:
        view = await client.get_workflow_handle(f"journey-{j.coi}").query("status")
    except (RPCError, WorkflowQueryFailedError):
        return []
    history = view.get("history", []) if isinstance(view, dict) else []
    return [h for h in history if isinstance(h, dict)]


def live(rows: list[dict[str, Any]], *keys: str) -> list[str]:
    """Keys (e.g. kind/attempt) held by more than one row that is not cancelled."""
    counts = Counter(tuple(r.get(k) for k in keys) for r in rows if r.get("status") != "cancelled")
    return ["/".join(str(x) for x in key) for key, n in counts.items() if n > 1]


async def doubled(driver: Driver, j: Journey) -> list[str]:
    ep, call = driver.ep, driver._call
    bookings = await call("GET", f"{ep.logistics}/bookings?coi={j.coi}", LOGISTICS)
    shipments = await call("GET", f"{ep.logistics}/shipments?coi={j.coi}", LOGISTICS)
    batches = await call("GET", f"{ep.batch}/batches?coi={j.coi}", SPECIALIST)
    found = [
        f"booking {k}"
        for k in live([b for b in bookings if b["kind"] != "shipment"], "kind", "attempt")
    ]
    found += [f"shipment {k}" for k in live(shipments, "direction", "attempt")]
    found += [f"batch attempt {k}" for k in live(batches, "attempt")]
    return found


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalised(reason: str) -> str:
    """A reason with its ids, dates and numbers masked, to count alike failures together."""
    return re.sub(r"\d", "#", UUID.sub("<id>", reason))[:240]
