"""The equipment register across services on the real stack: a calibration recorded in
batch as found out of tolerance reaches QC over Kafka, which opens one deviation for it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from v2v_cli.journeys import QA_REVIEWER, SUPERVISOR, Endpoints
from v2v_cli.tokens import TokenBroker

from .support import eventually

pytestmark = pytest.mark.integration

SITE = "manufacturing-site-1"  # the demo supervisor's site


@pytest.mark.requirement("EU-PartIV.5", "EU-PartIV.11.4", "EU-Annex11.5")
async def test_an_out_of_tolerance_calibration_opens_one_deviation_in_qc(
    platform: Endpoints, tokens: TokenBroker
) -> None:
    equipment_id = f"CEN-IT-{uuid.uuid4().hex[:6].upper()}"
    now = datetime.now(UTC)
    instrument = {
        "equipment_id": equipment_id,
        "equipment_type": "centrifuge",
        "name": "Sorvall ST 40R",
        "site": SITE,
        "location": "grade-C room 2.14",
        "calibration": {"interval_days": 180, "due_at": (now + timedelta(days=30)).isoformat()},
        "in_service_from": (now - timedelta(days=10)).isoformat(),
    }
    calibration = {
        "performed_at": (now - timedelta(minutes=30)).isoformat(),
        "as_found": "out-of-tolerance",
        "as_left": "in-tolerance",
        "certificate_ref": f"CAL-{equipment_id}",
    }
    supervisor = await tokens.headers(SUPERVISOR)
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(f"{platform.batch}/equipment", json=instrument, headers=supervisor)
        assert r.status_code == 201, r.text
        url = f"{platform.batch}/equipment/{equipment_id}/calibrations"
        r = await http.post(url, json=calibration, headers=supervisor)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "in-service"

        qa = await tokens.headers(QA_REVIEWER)

        async def deviations() -> list[Any]:
            found = await http.get(
                f"{platform.qc}/deviations", params={"equipment_id": equipment_id}, headers=qa
            )
            assert found.status_code == 200, found.text
            listed: list[Any] = found.json()
            return listed

        [deviation] = await eventually(deviations, bool, timeout=60)
    assert (deviation["source"], deviation["site"]) == ("equipment", SITE)
    assert deviation["classification"] == "minor"  # no batch used it since it entered service
    assert f"CAL-{equipment_id}" in deviation["description"]
