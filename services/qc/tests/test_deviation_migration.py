"""Deviations recorded before the lifecycle (qc_0006: opened, classified, closed) after the
upgrade to qc_0007: an open classified one is triaged, every one has its timeline, none is
reportable or has a CAPA."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from v2v_qc.bootstrap import MIGRATIONS
from v2v_runtime.db.engine import create_engine
from v2v_runtime.db.migrate import alembic_config, upgrade
from v2v_runtime.testing import ServiceHarness

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LEGACY = text(
    "INSERT INTO qc_deviations (deviation_id, coi, lot_id, classification, source, "
    "description, state, opened_at, opened_by, proposed_classification, classified_at, "
    "classified_by, closed_at, closed_by) VALUES (:id, 'CHA1B2C26000123', 'lot-1', 'major', "
    "'OOS', 'vcn 6.2', :state, :opened_at, :by, 'major', :classified_at, :by2, :closed_at, "
    ":by3)"
)
WHO = '{"user_id": "u-qa", "role": "qa-reviewer"}'


@pytest.mark.requirement("EU-Annex11.4.8")
async def test_deviations_from_before_the_lifecycle_are_triaged_and_given_their_timeline(
    tmp_path: Path,
) -> None:
    url = ServiceHarness.sqlite_url(tmp_path, "old")
    cfg = alembic_config(url, [MIGRATIONS])
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:

            def to_qc_0006(sync_conn: object) -> None:
                cfg.attributes["connection"] = sync_conn
                command.upgrade(cfg, "qc_0006")

            await conn.run_sync(to_qc_0006)
            later = AT + timedelta(hours=1)
            for deviation_id, state, classified, closed in (
                ("dev-open", "opened", None, None),
                ("dev-classified", "opened", later, None),
                ("dev-closed", "closed", later, later + timedelta(hours=1)),
            ):
                await conn.execute(
                    LEGACY,
                    {
                        "id": deviation_id,
                        "state": state,
                        "opened_at": AT,
                        "by": WHO,
                        "classified_at": classified,
                        "by2": None if classified is None else WHO,
                        "closed_at": closed,
                        "by3": None if closed is None else WHO,
                    },
                )
        await upgrade(url, [MIGRATIONS])
        async with engine.begin() as conn:
            states = dict(
                (await conn.execute(text("SELECT deviation_id, state FROM qc_deviations"))).all()
            )
            timeline = (
                await conn.execute(
                    text(
                        "SELECT deviation_id, seq, previous_state, state "
                        "FROM qc_deviation_timeline ORDER BY deviation_id, seq"
                    )
                )
            ).all()
            flags = (
                await conn.execute(text("SELECT DISTINCT reportable FROM qc_deviations"))
            ).all()
    finally:
        await engine.dispose()
    assert states == {"dev-open": "opened", "dev-classified": "triaged", "dev-closed": "closed"}
    assert [tuple(r) for r in timeline] == [
        ("dev-classified", 1, None, "opened"),
        ("dev-classified", 2, "opened", "triaged"),
        ("dev-closed", 1, None, "opened"),
        ("dev-closed", 2, "opened", "triaged"),
        ("dev-closed", 3, "triaged", "closed"),
        ("dev-open", 1, None, "opened"),
    ]
    assert [tuple(r) for r in flags] == [(False,)]
