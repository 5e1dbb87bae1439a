"""A late infusion (custody's infusion.recorded flagged thaw-to-infusion-limit-exceeded)
opens one deviation in QC on the infused lot — once, however often the message is
delivered —, major unless configured; an infusion within its limit opens none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import THAW_TO_INFUSION_LIMIT_EXCEEDED, InfusionRecorded
from v2v_events.contracts.qc import DeviationOpened
from v2v_qc.bootstrap import build
from v2v_qc.domain.events import Classification
from v2v_qc.settings import QcSettings
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import SeqIds, ServiceHarness, StepClock, signed

from .support import (
    COI,
    QA,
    READER,
    investigated,
    no_capa,
    order_panel,
    post_all,
    review_trail,
)

NURSE = Actor(user_id="u-nurse", role="infusion-nurse")
THAWED = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


def infusion(
    infusion_id: str = "inf-1", minutes: float = 160, lot_id: str = "lot-1", coi: str = COI
) -> InfusionRecorded:
    late = minutes > 150
    return InfusionRecorded(
        coi=coi,
        infusion_id=infusion_id,
        unit_ids=["bag-1"],
        lot_ids=[lot_id],
        treatment_center="TC-1",
        thawed_at=THAWED,
        infused_at=THAWED + timedelta(minutes=minutes),
        thaw_to_infusion_minutes=minutes,
        thaw_to_infusion_limit_minutes=150,
        flags=[THAW_TO_INFUSION_LIMIT_EXCEEDED] if late else [],
        actor=NURSE,
    )


async def deviations(client: httpx.AsyncClient, **params: str) -> list[dict[str, object]]:
    r = await client.get("/deviations", params=params)
    assert r.status_code == 200, r.text
    found: list[dict[str, object]] = r.json()
    return found


@pytest.mark.requirement("EU-PartIV.16", "EU-PartIV.11.4")
async def test_a_late_infusion_opens_one_deviation_on_the_released_lot(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    panel_id = await order_panel(harness)
    await post_all(client, panel_id)
    assert (await review_trail(client)).status_code == 201
    body = {"decision": "release", "reason": "reviewed"}
    assert (await signed(client, "/lots/lot-1/decision", body, QA)).status_code == 201

    on_time = await harness.deliver(infusion("inf-0", minutes=40), subject=COI, id="m-0")
    assert on_time is Outcome.PROCESSED
    assert await deviations(client, coi=COI) == []
    for message_id in ("m-1", "m-1", "m-2"):  # redelivered, then published again
        outcome = await harness.deliver(infusion(), subject=COI, id=message_id)
        assert outcome in (Outcome.PROCESSED, Outcome.DUPLICATE)
    [deviation] = await deviations(client, coi=COI)
    assert (
        deviation["source"],
        deviation["classification"],
        deviation["state"],
        deviation["lot_id"],
        deviation["coi"],
    ) == ("thaw-to-infusion-limit", "major", "opened", "lot-1", COI)
    text = str(deviation["description"])
    assert "inf-1" in text and "160 min" in text and "limit 150 min" in text
    assert deviation["opened_by"] == {"user_id": "u-nurse", "role": "infusion-nurse"}
    [published] = await harness.published(DeviationOpened)
    assert (published.deviation_id, published.lot_id, published.source) == (
        deviation["deviation_id"],
        "lot-1",
        "thaw-to-infusion-limit",
    )
    # the lot's deviations name it; QA classifies and closes it as any other
    [on_lot] = await deviations(client, lot_id="lot-1")
    assert on_lot["deviation_id"] == deviation["deviation_id"]
    url = f"/deviations/{deviation['deviation_id']}"
    await investigated(client, url, "minor")
    r = await signed(client, f"{url}/close", no_capa("patient monitored: no impact"), QA)
    assert r.status_code == 200, r.text


@pytest.mark.requirement("EU-PartIV.16")
async def test_the_classification_is_configuration_and_an_unknown_lot_is_no_obstacle(
    tmp_path: Path,
) -> None:
    settings = QcSettings(
        database_url=ServiceHarness.sqlite_url(tmp_path, "qc"),
        late_infusion_deviation_classification=Classification.CRITICAL,
    )
    h = ServiceHarness(build(settings, clock=StepClock(), ids=SeqIds()), headers=READER)
    await h.start()
    try:
        # a lot QC has not heard of (its lot.produced still on the way): opened all the same
        outcome = await h.deliver(infusion(lot_id="lot-9"), subject=COI)
        assert outcome is Outcome.PROCESSED
        async with h.client() as client:
            [deviation] = await deviations(client, lot_id="lot-9")
        assert (deviation["classification"], deviation["coi"]) == ("critical", COI)
    finally:
        await h.close()
