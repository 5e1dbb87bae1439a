"""An MBR version becomes effective only through a change control approved in QC
(qc.change-control.approved, through batch's inbox): on the event when QA has approved the
version, at QA's approval when the event came first (even before the draft); the version
shows its change control; batch tells QC it acted (batch.change-control.implemented);
redeliveries and approvals batch cannot act on change nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from v2v_events.contracts.change_control import (
    ChangeControlImplemented,
    ChangeSubject,
    change_subject_key,
)
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, signed

from .mbr_support import (
    AUTHOR,
    CC_APPROVER_ID,
    CONTENT,
    PRODUCT,
    QA,
    approve_change,
    change_approved,
    content,
    effective_mbr,
    open_mbr_batch,
    version_url,
)
from .support import SITE

KEY = change_subject_key(ChangeSubject.MBR, PRODUCT, SITE)


async def approved_version(client: httpx.AsyncClient, body: dict[str, Any] | None = None) -> int:
    """A version drafted, submitted and approved by QA (signed): not yet effective."""
    r = await client.post(
        "/mbrs",
        json={"product_code": PRODUCT, "site": SITE, "content": body or CONTENT},
        headers=AUTHOR,
    )
    version: int = r.json()["version"]
    url = version_url(version)
    assert (await client.post(f"{url}/submission", json={}, headers=AUTHOR)).status_code == 200
    assert (await signed(client, f"{url}/approval", {}, QA)).status_code == 200
    return version


@pytest.mark.requirement("EU-PartIV.6.2", "EU-PartIV.9", "EU-Annex11.10")
async def test_an_approved_version_takes_effect_on_its_change_controls_approval(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    await approved_version(client)
    url = version_url(1)
    # QA's approval alone does not make it effective, and no act does (no route)
    assert (await client.post(f"{url}/effective", json={}, headers=QA)).status_code == 404
    assert (await client.get(url)).json()["status"] == "approved"
    # no batch pins an MBR that is not effective: the fixed process steps, as before
    batch_id = await open_mbr_batch(client, harness)
    assert (await client.get(f"/batches/{batch_id}")).json()["execution"] is None

    message = await approve_change(harness, 1)
    view = (await client.get(url)).json()
    assert (view["status"], view["change_control_id"]) == ("effective", f"CC-{PRODUCT}-1")
    note = view["change_control"]
    assert (note["change_control_id"], note["approved_by"], note["approved_at"]) == (
        f"CC-{PRODUCT}-1",
        {"user_id": CC_APPROVER_ID, "role": "qa-reviewer"},
        "2026-11-01T09:00:00Z",
    )
    [done] = await harness.published(ChangeControlImplemented)
    assert (done.change_control_id, done.subject_kind, done.subject_id, done.site) == (
        message.change_control_id,
        ChangeSubject.MBR,
        PRODUCT,
        SITE,
    )
    assert (done.version, done.effective_at.isoformat()) == (
        1,
        view["effective_at"].replace("Z", "+00:00"),
    )
    [(topic, env)] = [
        (t, e) for t, e in await harness.outbox() if e.type.endswith("change-control.implemented")
    ]
    assert (topic, env.subject) == ("v2v.batch.events", KEY)
    # the audit trail shows whose approval it carried out
    trail = (
        await client.get("/audit-trail", params={"record": f"mbr-{PRODUCT}@{SITE}"}, headers=QA)
    ).json()
    [noted] = [
        e for e in trail["entries"] if e["event_type"] == "batch.mbr-change-control-approved"
    ]
    assert (noted["user_id"], noted["role"]) == (CC_APPROVER_ID, "qa-reviewer")


async def test_a_change_control_approved_first_takes_effect_at_qas_approval(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    await effective_mbr(harness, client)  # version 1
    # version 2's change control is approved before the version is even drafted
    await approve_change(harness, 2)
    assert await harness.published(ChangeControlImplemented) != []
    await client.post(
        "/mbrs",
        json={"product_code": PRODUCT, "site": SITE, "content": content(title="v2")},
        headers=AUTHOR,
    )
    url = version_url(2)
    view = (await client.get(url)).json()
    assert (view["status"], view["change_control"]["change_control_id"]) == (
        "draft",
        f"CC-{PRODUCT}-2",
    )
    await client.post(f"{url}/submission", json={}, headers=AUTHOR)
    assert (await client.get(url)).json()["status"] == "in-review"
    r = await signed(client, f"{url}/approval", {}, QA)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["change_control_id"]) == ("effective", f"CC-{PRODUCT}-2")
    assert (await client.get(version_url(1))).json()["status"] == "superseded"
    done = [m.change_control_id for m in await harness.published(ChangeControlImplemented)]
    assert done == [f"CC-{PRODUCT}-1", f"CC-{PRODUCT}-2"]
    batch_id = await open_mbr_batch(client, harness)
    pinned = (await client.get(f"/batches/{batch_id}")).json()["execution"]["mbr"]
    assert (pinned["product_code"], pinned["version"]) == (PRODUCT, 2)


async def test_redeliveries_and_approvals_batch_cannot_act_on_change_nothing(
    client: httpx.AsyncClient, harness: ServiceHarness
) -> None:
    await approved_version(client)
    await approve_change(harness, 1)
    before = (await client.get(version_url(1))).json()
    # the same message again: the inbox knows it; another message of the same approval, or
    # another change control for the version: noted once, acted on once
    again = change_approved(1)
    assert await harness.deliver(again, subject=KEY, id=f"cc-{PRODUCT}-{SITE}-1") is (
        Outcome.DUPLICATE
    )
    assert await harness.deliver(again, subject=KEY, id="cc-again") is Outcome.PROCESSED
    other = change_approved(1, change_control_id="CC-OTHER")
    assert await harness.deliver(other, subject=KEY, id="cc-other") is Outcome.PROCESSED
    assert (await client.get(version_url(1))).json() == before
    assert len(await harness.published(ChangeControlImplemented)) == 1
    # a specification's change control is QC's; an MBR of a product code batch cannot hold
    spec = change_approved(3, product="SPEC-S1234", kind=ChangeSubject.SPECIFICATION)
    assert await harness.deliver(spec, subject="specification:SPEC-S1234") is Outcome.PROCESSED
    bad = change_approved(1, product="not-a-product")
    assert await harness.deliver(bad, subject="mbr:x") is Outcome.PROCESSED
    listed = (await client.get("/mbrs")).json()
    assert [(v["product_code"], v["version"]) for v in listed] == [(PRODUCT, 1)]
    assert len(await harness.published(ChangeControlImplemented)) == 1
