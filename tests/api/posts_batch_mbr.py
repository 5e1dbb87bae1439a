"""Batch's POST operations of master batch records and of executing a batch from one, each
brought to where it succeeds (with posts_batch's, the batch service's scenarios)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from v2v_events.contracts.batch import BatchExceptionRaised, BatchOpened, OpenBatch
from v2v_events.contracts.change_control import (
    ChangeControlApproved,
    ChangeSubject,
    change_subject_key,
)
from v2v_events.contracts.common import Actor
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, StepClock

from .posts_batch import collected
from .support import (
    COI,
    NOW,
    QA,
    SPECIALIST,
    SUPERVISOR,
    SYSTEM,
    Call,
    deliver,
    ok,
    signed_call,
    signed_ok,
)

SITE = "manufacturing-site-1"
PRODUCT = "S7API1"
VERSION = f"/mbrs/{PRODUCT}/{SITE}/versions/1"
# Two steps: receipt with a critical temperature (verified by a second person), then freezing.
CONTENT: dict[str, Any] = {
    "title": "API scenario MBR",
    "therapy": "autologous CAR-T",
    "operations": [
        {
            "operation_id": "all",
            "name": "All",
            "steps": [
                {
                    "step_id": "receipt",
                    "name": "Receipt",
                    "instructions": "Receive the apheresis.",
                    "sop": {"document_id": "SOP-1", "version": "1"},
                    "parameters": [
                        {
                            "name": "temperature_c",
                            "label": "Temperature",
                            "type": "number",
                            "unit": "°C",
                            "lower_limit": 1,
                            "upper_limit": 10,
                            "critical": True,
                        }
                    ],
                    "signatures": "performed-and-verified",
                },
                {
                    "step_id": "freezing",
                    "name": "Freezing",
                    "instructions": "Freeze.",
                    "sop": {"document_id": "SOP-2", "version": "1"},
                },
            ],
        }
    ],
}


async def drafted(c: httpx.AsyncClient) -> None:
    await ok(c, "/mbrs", {"product_code": PRODUCT, "site": SITE, "content": CONTENT}, SUPERVISOR)


async def submitted(c: httpx.AsyncClient) -> None:
    await drafted(c)
    await ok(c, f"{VERSION}/submission", {}, SUPERVISOR)


async def approved(c: httpx.AsyncClient) -> None:
    await submitted(c)
    await signed_ok(c, f"{VERSION}/approval", {}, QA)


async def change_approved(h: ServiceHarness, product: str = PRODUCT) -> None:
    """QC's approval of the change control naming the version, through batch's inbox."""
    approval = ChangeControlApproved(
        change_control_id=f"CC-API-{product}",
        subject_kind=ChangeSubject.MBR,
        subject_id=product,
        site=SITE,
        version=1,
        description="first version",
        approved_at=NOW,
        actor=Actor(user_id="u-qc-qa", role="qa-reviewer"),
    )
    key = change_subject_key(ChangeSubject.MBR, product, SITE)
    assert await h.deliver(approval, subject=key) is Outcome.PROCESSED


async def effective(h: ServiceHarness, c: httpx.AsyncClient) -> None:
    """Approved by QA, then made effective by its change control (QC's approval)."""
    await approved(c)
    await change_approved(h)


async def executing(h: ServiceHarness, c: httpx.AsyncClient) -> str:
    """A batch of the product opened under its effective MBR; a day later."""
    await effective(h, c)
    await collected(h)
    cmd = OpenBatch(
        coi=COI,
        apheresis_unit_id="APH-1",
        din="G123498654321",
        manufacturing_site=SITE,
        attempt=1,
        actor=SYSTEM,
        product_code=PRODUCT,
    )
    await deliver(h, cmd)
    clock = h.kit.clock
    assert isinstance(clock, StepClock)
    clock.advance(timedelta(days=1))
    return (await h.published(BatchOpened))[-1].batch_id


def performed(h: ServiceHarness, step: str, hours_ago: int, **values: Any) -> dict[str, Any]:
    now = h.kit.clock.now()
    return {
        "room": "GRADE-B-1",
        "started_at": (now - timedelta(hours=hours_ago)).isoformat(),
        "ended_at": (now - timedelta(hours=hours_ago - 1)).isoformat(),
        "values": {k: {"value": v, "unit": "°C"} for k, v in values.items()},
    }


async def received(h: ServiceHarness, c: httpx.AsyncClient, temperature: float = 5.0) -> str:
    batch_id = await executing(h, c)
    body = performed(h, "receipt", 6, temperature_c=temperature)
    await signed_ok(c, f"/batches/{batch_id}/steps/receipt", body, SPECIALIST)
    return batch_id


async def draft_mbr(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    return Call("/mbrs", {"product_code": PRODUCT, "site": SITE, "content": CONTENT}, SUPERVISOR)


async def revise_mbr(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await drafted(c)
    return Call(f"{VERSION}/revision", {"content": {**CONTENT, "title": "Revised"}}, SUPERVISOR)


async def submit_mbr(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await drafted(c)
    return Call(f"{VERSION}/submission", {}, SUPERVISOR)


async def return_mbr(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await submitted(c)
    return Call(f"{VERSION}/return", {"reason": "hold times missing"}, QA)


async def approve_mbr(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await submitted(c)
    return await signed_call(c, f"{VERSION}/approval", {}, QA)


async def retire_mbr(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    await effective(h, c)
    return Call(f"{VERSION}/retirement", {"reason": "process withdrawn"}, QA)


async def perform_step(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    batch_id = await executing(h, c)
    body = performed(h, "receipt", 6, temperature_c=5.0)
    return await signed_call(c, f"/batches/{batch_id}/steps/receipt", body, SPECIALIST)


async def correct_entry(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    batch_id = await received(h, c)
    body = {"parameter": "temperature_c", "value": 6.0, "unit": "°C", "reason": "misread"}
    return await signed_call(c, f"/batches/{batch_id}/steps/receipt/corrections", body, SPECIALIST)


async def disposition(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    batch_id = await received(h, c, temperature=14.0)  # out of limits: an exception
    exception_id = (await h.published(BatchExceptionRaised))[-1].exception_id
    body = {"disposition": "no-product-impact", "rationale": "logger fault; product at 4 °C"}
    url = f"/batches/{batch_id}/exceptions/{exception_id}/disposition"
    return await signed_call(c, url, body, QA)


async def review(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    batch_id = await received(h, c)
    url = f"/batches/{batch_id}/steps/receipt/verification"
    await signed_ok(c, url, {}, SPECIALIST, signer="u-sup")
    body = performed(h, "freezing", 3)
    await signed_ok(c, f"/batches/{batch_id}/steps/freezing", body, SPECIALIST)
    return await signed_call(c, f"/batches/{batch_id}/review", {}, QA)


V = "/mbrs/{product_code}/{site}/versions/{version}"
SCENARIOS = {
    "POST /mbrs": draft_mbr,
    f"POST {V}/revision": revise_mbr,
    f"POST {V}/submission": submit_mbr,
    f"POST {V}/return": return_mbr,
    f"POST {V}/approval": approve_mbr,
    f"POST {V}/retirement": retire_mbr,
    "POST /batches/{batch_id}/steps/{step}": perform_step,
    "POST /batches/{batch_id}/steps/{step}/corrections": correct_entry,
    "POST /batches/{batch_id}/exceptions/{exception_id}/disposition": disposition,
    "POST /batches/{batch_id}/review": review,
}
