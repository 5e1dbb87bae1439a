"""The classes QC proposes for the deviations it raises are configuration: the packaged
policy's defaults, a site's own file (V2V_RAISED_DEVIATIONS) instead, refused when
incomplete. Raised deviations and the lots' bags are rebuilt from the event store, and rows
stored before them still load."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from v2v_events.contracts.common import ShipmentDirection
from v2v_qc.adapters.config import SpecFileError
from v2v_qc.adapters.db.tables import deviations as deviations_table
from v2v_qc.adapters.raising_policy import PACKAGED, load_raising_policy
from v2v_qc.bootstrap import PERSISTENCE, build
from v2v_qc.domain.events import Classification, DeviationOpened, LotRegistered
from v2v_qc.settings import QcSettings
from v2v_runtime.eventstore import StoredEvent
from v2v_runtime.testing import ServiceHarness

from .raised import deliver, deviations
from .support import COI, READER, produced
from .test_custody_mismatch import refusal
from .test_shipment_excursion import delivered

C = Classification
AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def test_the_packaged_policy_proposes_the_documented_classes() -> None:
    policy = load_raising_policy()
    assert policy.custody_mismatch is C.MAJOR
    assert policy.shipment_excursion == {
        ShipmentDirection.INBOUND: C.MAJOR,
        ShipmentDirection.OUTBOUND: C.CRITICAL,
    }
    assert policy.material_out_of_status is C.MAJOR
    assert policy.missed_deadlines["apheresis-receipt"] is C.MAJOR
    assert "slot-wait" not in policy.missed_deadlines
    assert "recovery-decision" not in policy.missed_deadlines


def site_policy(tmp_path: Path, **changes: Any) -> Path:
    data = {**json.loads(PACKAGED.read_text()), **changes}
    path = tmp_path / "raised.json"
    path.write_text(json.dumps(data))
    return path


def test_an_incomplete_policy_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecFileError, match="no class for shipments inbound"):
        load_raising_policy(site_policy(tmp_path, shipment_excursion={"outbound": "critical"}))
    with pytest.raises(SpecFileError, match="invalid raised-deviations policy"):
        load_raising_policy(site_policy(tmp_path, custody_mismatch="serious"))
    with pytest.raises(SpecFileError):
        load_raising_policy(tmp_path / "missing.json")


async def test_a_sites_policy_file_sets_the_classes(tmp_path: Path) -> None:
    settings = QcSettings(
        database_url=ServiceHarness.sqlite_url(tmp_path, "qc"),
        raised_deviations=site_policy(
            tmp_path,
            custody_mismatch="critical",
            shipment_excursion={"inbound": "minor", "outbound": "major"},
        ),
    )
    h = ServiceHarness(build(settings), headers=READER)
    await h.start()
    try:
        await deliver(h, refusal(), COI, "refused")
        await deliver(h, delivered(), COI, "delivered")
        async with h.client() as c:
            found = {d["source"]: d["classification"] for d in await deviations(c, coi=COI)}
    finally:
        await h.close()
    assert found == {"custody-mismatch": "critical", "shipment-excursion": "major"}


async def test_raised_deviations_are_rebuilt_by_replay(harness: ServiceHarness) -> None:
    await deliver(harness, produced("lot-1", bag_ids=("bag-1", "bag-2")), COI, "produced-1")
    await deliver(harness, refusal("bag-1", location="treatment-center-1"), COI, "refused")
    await deliver(harness, delivered(), COI, "delivered")
    async with harness.client() as c:
        before = await deviations(c, coi=COI)
        assert len(before) == 2
        async with harness.kit.uow() as uow:
            await uow.session.execute(update(deviations_table).values(site="garbage"))
        await harness.kit.rebuild()
        assert await deviations(c, coi=COI) == before
        # the lots' bags too: a later refusal of a bag is still traced to its lot
        await deliver(harness, refusal("bag-2", location="treatment-center-1"), COI, "again")
        [latest] = await deviations(c, unit_id="bag-2", shipment_id="S-OUT-1")
        assert latest["source"] == "shipment-excursion"
        traced = [
            d for d in await deviations(c, unit_id="bag-2") if d["source"] != latest["source"]
        ]
        assert [b["lot_id"] for b in traced[0]["batches"]] == ["lot-1"]


def test_rows_stored_before_the_chain_fields_load() -> None:
    """A deviation opened (v1) and a lot registered (v2) before this version: upcast with
    no units, shipment, material lot or bags."""

    def row(kind: str, version: int, payload: dict[str, Any]) -> StoredEvent:
        return StoredEvent(
            position=1,
            stream_id="s-1",
            version=1,
            event_id="e-1",
            event_type=f"qc.{kind}",
            schema_version=version,
            payload=payload,
            recorded_at=AT,
        )

    who = {"user_id": "u-1", "role": "qc-analyst"}
    opened = PERSISTENCE.codec.decode(
        row(
            "deviation.opened",
            1,
            {
                "deviation_id": "d-1",
                "coi": COI,
                "lot_id": "lot-1",
                "classification": "major",
                "source": "temperature-excursion",
                "description": "d",
                "opened_at": AT.isoformat(),
                "opened_by": who,
            },
        )
    )
    assert isinstance(opened, DeviationOpened)
    assert (opened.unit_ids, opened.shipment_id, opened.material_lot_id) == ([], None, None)
    registered = PERSISTENCE.codec.decode(
        row(
            "lot.registered",
            2,
            {
                "lot_id": "lot-1",
                "coi": COI,
                "batch_id": "b-1",
                "total_viable_cells": 4.6e8,
                "viability_pct": 88.0,
                "attempt": 1,
                "produced_at": AT.isoformat(),
                "manufacturing_site": "MS-1",
            },
        )
    )
    assert isinstance(registered, LotRegistered) and registered.bag_ids == []
