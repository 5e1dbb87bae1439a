"""QC's POST operations of change control, each brought to where it succeeds (with
posts_qc's, the qc service's scenarios)."""

from __future__ import annotations

from typing import Any

import httpx

from v2v_runtime.testing import ServiceHarness

from .support import QA, SUPERVISOR, Call, Scenario, ok, signed_call

REQUEST: dict[str, Any] = {
    "subject_kind": "mbr",
    "subject_id": "S7API1",
    "site": "manufacturing-site-1",
    "version": 2,
    "description": "expansion extended to 10 days",
    "reason": "yield below target",
}
ASSESSMENT: dict[str, Any] = {
    "affected_products": "S7API1",
    "affected_batches": "none in process",
    "affected_documents": "MBR S7API1 v2",
    "risk_level": "low",
    "risk": "validated range",
    "training_needed": "operators on the new hold",
    "validation_needed": "none",
}


async def raised(c: httpx.AsyncClient) -> str:
    return str((await ok(c, "/change-controls", REQUEST, SUPERVISOR))["change_control_id"])


async def assessed(c: httpx.AsyncClient) -> str:
    cc_id = await raised(c)
    await ok(c, f"/change-controls/{cc_id}/impact-assessment", ASSESSMENT, SUPERVISOR)
    return cc_id


async def raise_change(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    return Call("/change-controls", REQUEST, SUPERVISOR)


async def assess(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    return Call(f"/change-controls/{await raised(c)}/impact-assessment", ASSESSMENT, SUPERVISOR)


async def approve(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    url = f"/change-controls/{await assessed(c)}/approval"
    return await signed_call(c, url, {"comment": "go"}, QA)


async def reject(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    url = f"/change-controls/{await assessed(c)}/rejection"
    return await signed_call(c, url, {"reason": "validation missing"}, QA)


SCENARIOS: dict[str, Scenario] = {
    "POST /change-controls": raise_change,
    "POST /change-controls/{change_control_id}/impact-assessment": assess,
    "POST /change-controls/{change_control_id}/approval": approve,
    "POST /change-controls/{change_control_id}/rejection": reject,
}
