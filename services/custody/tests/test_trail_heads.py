"""Custody tells QC how far its audit trail of a CoI has come (audit-trail.advanced): with
every change of the CoI's records, the newest record's position and hash — the head its own
GET /audit-trail shows, which QA's review before release records."""

from __future__ import annotations

import pytest

from v2v_events.contracts.trail import CustodyTrailAdvanced
from v2v_runtime.testing import as_user

from .support import Custody

AUDITOR = as_user("u-auditor", "auditor")


@pytest.mark.requirement("EU-Annex11.9")
async def test_each_change_publishes_the_cois_trail_head(custody: Custody) -> None:
    coi = await custody.enroll()
    other = await custody.enroll()
    await custody.collect(coi)
    heads = await custody.harness.published(CustodyTrailAdvanced)
    assert [h.coi for h in heads] == [coi, other, coi]
    assert [h.service for h in heads] == ["custody"] * 3
    assert heads[0].position < heads[2].position  # the collection moved the CoI's head
    trail = await custody.client.get("/audit-trail", params={"coi": coi}, headers=AUDITOR)
    assert trail.status_code == 200, trail.text
    shown = trail.json()
    assert shown["head"] == {
        "service": "custody",
        "coi": coi,
        "position": heads[2].position,
        "hash": heads[2].hash,
    }
    newest = max(shown["entries"], key=lambda e: e["position"])
    assert (newest["position"], newest["hash"]) == (heads[2].position, heads[2].hash)
    # nothing identifying in the heads: positions and hashes only
    assert set(heads[2].model_dump()) == {"service", "coi", "position", "hash", "recorded_at"}
