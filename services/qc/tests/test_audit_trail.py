"""QC's audit trail: a CoI's lots, panels and deviations; a result correction with its
reason code, text and old -> new value; scoped to the lots' manufacturing sites."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from v2v_events.contracts.qc import DeviationOpened
from v2v_runtime.testing import ServiceHarness, as_user

from .support import COI, OTHER_COI, order_panel, post_all, post_result

AUDITOR = as_user("u-auditor", "auditor")
OTHER_SITE_REVIEWER = as_user("u-rev2", "qc-reviewer", sites=["MS-2"])
SITE_REVIEWER = as_user("u-rev1", "qc-reviewer", sites=["MS-1"])


async def trail(c: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    r = await c.get("/audit-trail", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.mark.requirement("21CFR11.10(e)", "EU-Annex11.9", "EU-PartIV.6.1")
async def test_a_correction_shows_why_and_old_to_new(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_result(client, panel_id, "car_pos", 30)
    r = await post_result(
        client,
        panel_id,
        "car_pos",
        10,
        correction_reason="gated on the wrong population",
        reason_code="instrument-error",
    )
    assert r.status_code == 201, r.text
    await post_all(client, panel_id, skip=("car_pos",))
    body = await trail(client, AUDITOR, coi=COI, type="result.recorded")
    car_pos = [e for e in body["entries"] if e["values"]["test_code"] == "car_pos"]
    dose = [e for e in body["entries"] if e["values"]["test_code"] == "dose"]
    assert [e["changes"] for e in car_pos] == [[], [{"field": "car_pos", "old": "30", "new": "10"}]]
    assert (car_pos[1]["reason_code"], car_pos[1]["reason"]) == (
        "instrument-error",
        "gated on the wrong population",
    )
    assert car_pos[1]["user_id"] == "u-analyst" and car_pos[1]["role"] == "qc-analyst"
    # the dose recomputed from the corrected input: a change of its own, for the same reason
    assert dose[1]["changes"] == [{"field": "dose", "old": "1971429", "new": "657143"}]
    assert dose[1]["reason_code"] == "instrument-error"
    assert dose[1]["user_id"] == "qc-dose-calculator"
    assert body["verification"]["status"] == "ok"
    # the CoI's QC records: its lot, its panel, and the deviation the low dose opened
    [deviation] = await harness.published(DeviationOpened)
    every = await trail(client, AUDITOR, coi=COI)
    records = {e["record"] for e in every["entries"]}
    assert records == {panel_id, "qc-lot:lot-1", deviation.deviation_id}


@pytest.mark.requirement("21CFR11.10(g)")
async def test_a_reviewer_sees_the_qc_of_their_sites_lots_only(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await order_panel(harness)
    await order_panel(harness, "lot-9", coi=OTHER_COI)
    assert (await trail(client, OTHER_SITE_REVIEWER, coi=COI))["entries"] == []
    assert (await trail(client, OTHER_SITE_REVIEWER))["entries"] == []
    mine = await trail(client, SITE_REVIEWER, coi=COI)
    assert mine["entries"] and {e["coi"] for e in mine["entries"]} == {COI}
    assert {e["coi"] for e in (await trail(client, SITE_REVIEWER))["entries"]} == {COI, OTHER_COI}
