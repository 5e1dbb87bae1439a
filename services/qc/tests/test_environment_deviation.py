"""An environmental monitoring result above its action limit (batch's
environment.action-limit-exceeded): one deviation per excursion, on the batches whose steps
were done in the room within its impact window, holding the lots of those batches (known
now or registered later) until QA closes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from v2v_events.contracts.common import Actor
from v2v_events.contracts.environment import (
    EnvironmentActionLimitExceeded,
    Grade,
    Occupancy,
    RoomBatch,
)
from v2v_qc.application.environment_deviation import deviation_id_of
from v2v_runtime.inbox import Outcome
from v2v_runtime.testing import ServiceHarness, as_user, signed

from .raised import blocking
from .support import COI, OTHER_COI, QA, investigated, no_capa, problem, produced

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
ANALYST = Actor(user_id="u-qc-micro", role="qc-analyst")
PARIS = as_user("u-qc-paris", "qc-reviewer", sites=["SITE-PARIS-1"])
SITE = "MS-1"  # the site of support.produced's lots
SOURCE = "environmental-monitoring"


def excursion(
    *batches: tuple[str, str], excursion_id: str = "result-7"
) -> EnvironmentActionLimitExceeded:
    return EnvironmentActionLimitExceeded(
        excursion_id=excursion_id,
        room_id="GRADE-B-SUITE-2",
        room_name="Grade B suite 2",
        grade=Grade.B,
        site=SITE,
        sample_type="settle-plate",
        sample_id="SP-0417",
        location="B2-SP-04",
        sampled_at=AT,
        occupancy=Occupancy.IN_OPERATION,
        value=7,
        unit="CFU/4 h",
        action_limit=5,
        alert_limit=2,
        edition="EU GMP Annex 1 (2022)",
        config_version="em-2026.1",
        window_from=AT - timedelta(hours=24),
        window_to=AT + timedelta(hours=24),
        batches=[
            RoomBatch(
                batch_id=batch_id,
                coi=coi,
                steps=["transduction"],
                first_started_at=AT - timedelta(hours=2),
                last_ended_at=AT - timedelta(hours=1),
            )
            for batch_id, coi in batches
        ],
        batch_count=len(batches),
        actor=ANALYST,
    )


async def deliver(h: ServiceHarness, msg: EnvironmentActionLimitExceeded, id: str) -> None:
    assert await h.deliver(msg, subject=msg.room_id, id=id) is Outcome.PROCESSED


@pytest.mark.requirement("EU-Annex1.9", "EU-PartIV.11.4")
async def test_one_deviation_per_excursion_names_the_batches_and_holds_their_lots(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    lot = produced("lot-1")  # batch-of-lot-1, known to QC before the excursion
    assert await harness.deliver(lot, subject=COI, id="produced-lot-1") is Outcome.PROCESSED
    msg = excursion(("batch-of-lot-1", COI), ("batch-of-lot-2", OTHER_COI))
    await deliver(harness, msg, "excursion-1")
    await deliver(harness, msg, "excursion-1-again")  # published again: no second deviation

    [deviation] = (await client.get("/deviations", params={"source": SOURCE})).json()
    assert deviation["deviation_id"] == deviation_id_of(msg)
    assert (deviation["source"], deviation["classification"]) == (SOURCE, "major")
    assert (deviation["coi"], deviation["lot_id"], deviation["site"]) == (None, None, SITE)
    assert deviation["equipment_id"] is None
    assert [(b["batch_id"], b["lot_id"]) for b in deviation["batches"]] == [
        ("batch-of-lot-1", "lot-1"),
        ("batch-of-lot-2", None),
    ]
    text = deviation["description"]
    for shown in ("GRADE-B-SUITE-2", "grade B", "settle-plate", "7 CFU/4 h", "action limit 5"):
        assert shown in text, shown
    assert "EU GMP Annex 1 (2022)" in text and "2 batch(es)" in text and "result-7" in text
    assert deviation["opened_by"] == {"user_id": "u-qc-micro", "role": "qc-analyst"}
    assert await blocking(harness, "lot-1") == [deviation["deviation_id"]]

    # the other batch's lot, registered later while the deviation is open, is held too
    later = produced("lot-2", coi=OTHER_COI)
    assert await harness.deliver(later, subject=OTHER_COI, id="produced-lot-2") is Outcome.PROCESSED
    assert await blocking(harness, "lot-2") == [deviation["deviation_id"]]
    by_batch = (await client.get("/deviations", params={"batch_id": "batch-of-lot-2"})).json()
    assert [d["deviation_id"] for d in by_batch] == [deviation["deviation_id"]]

    # another site's reader does not see it
    assert (await client.get("/deviations", params={"source": SOURCE}, headers=PARIS)).json() == []
    url = f"/deviations/{deviation['deviation_id']}"
    problem(await client.get(url, headers=PARIS), 404, "deviation-not-found")

    # QA classifies and closes it after the impact assessment, signed: both lots are free
    await investigated(client, url, "major")
    closed = await signed(client, f"{url}/close", no_capa("no product impact"), QA)
    assert closed.status_code == 200, closed.text
    assert await blocking(harness, "lot-1") == [] and await blocking(harness, "lot-2") == []


async def test_each_excursion_has_its_own_deviation_and_one_with_no_batch_is_minor(
    harness: ServiceHarness, client: httpx.AsyncClient
) -> None:
    await deliver(harness, excursion(excursion_id="result-8"), "excursion-8")
    await deliver(harness, excursion(("batch-9", COI), excursion_id="result-9"), "excursion-9")
    found = (await client.get("/deviations", params={"source": SOURCE})).json()
    assert sorted((d["classification"], len(d["batches"])) for d in found) == [
        ("major", 1),
        ("minor", 0),
    ]
    problem(await client.get("/deviations"), 422, "filter-required")
