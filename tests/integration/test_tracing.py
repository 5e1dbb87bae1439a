"""One trace across every hop of a patient's first step, on the real stack:
HTTP request (custody) → command handler → outbox row → Kafka publish → consumer in the
journey bridge → Temporal workflow and activity → command on Kafka → consumer in logistics
→ logistics' own publication. Read back from the spans the processes exported."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from v2v_cli.journeys import COORDINATOR, LOGISTICS, Driver, Endpoints, Patient
from v2v_cli.stack.platform import DEMO_PRODUCT
from v2v_cli.tokens import TokenBroker

pytestmark = pytest.mark.integration


def spans(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def test_one_trace_links_http_kafka_and_temporal_across_services(
    platform: Endpoints, trace_file: Path, tokens: TokenBroker
) -> None:
    driver = Driver(platform, log=lambda _: None)
    try:
        coi = await driver.enroll(Patient("Trace Testperson", "1980-05-05", "MRN-T1", DEMO_PRODUCT))
    finally:
        await driver.close()

    async with httpx.AsyncClient(timeout=10) as http:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            url = f"{platform.logistics}/bookings?coi={coi}"
            rows = (await http.get(url, headers=await tokens.headers(LOGISTICS))).json()
            if any(b["kind"] == "collection" for b in rows):
                break
            await asyncio.sleep(0.3)
        else:
            raise AssertionError("logistics never booked the collection")
        assert (
            await http.get(
                f"{platform.custody}/patients/{coi}", headers=await tokens.headers(COORDINATOR)
            )
        ).is_success

    def find(trace: str, service: str, name: str, kind: str | None = None) -> dict[str, Any]:
        for s in spans(trace_file):
            if (
                s["trace_id"] == trace
                and s["service"] == f"vein2vein-{service}"
                and s["name"] == name
                and (kind is None or s["kind"] == kind)
            ):
                return s
        seen = sorted(
            {(s["service"], s["name"]) for s in spans(trace_file) if s["trace_id"] == trace}
        )
        raise AssertionError(f"no {service} span {name!r} in trace {trace}; have {seen}")

    # the request that enrolled this patient starts the trace
    await asyncio.sleep(1.0)  # the last hop's span ends just after its effect is visible
    http_spans = [
        s
        for s in spans(trace_file)
        if s["service"] == "vein2vein-custody"
        and s["kind"] == "SERVER"
        and s["name"] == "POST /patients"
    ]
    assert http_spans, "custody exported no HTTP server span"
    traces = {s["trace_id"] for s in http_spans}
    trace = next(
        t
        for t in traces
        if any(
            s["trace_id"] == t and s["service"] == "vein2vein-logistics" for s in spans(trace_file)
        )
    )
    publish = find(trace, "custody", "publish v2v.custody.events", "PRODUCER")
    bridge = find(trace, "journey", "process v2v.custody.events", "CONSUMER")
    assert bridge["parent_span_id"] == publish["span_id"]
    find(trace, "journey", "SignalWithStartWorkflow:Journey")
    find(trace, "journey", "RunWorkflow:Journey")
    find(trace, "journey", "StartActivity:schedule-collection")
    find(trace, "journey", "RunActivity:schedule-collection")
    consumed = find(trace, "logistics", "process v2v.logistics.commands", "CONSUMER")
    assert consumed["attributes"]["v2v.message.type"].endswith("collection.schedule")
    find(trace, "logistics", "publish v2v.logistics.events", "PRODUCER")
    # no patient data in any span of the platform
    blob = trace_file.read_text()
    for secret in ("Trace Testperson", "1980-05-05", "MRN-T1"):
        assert secret not in blob
