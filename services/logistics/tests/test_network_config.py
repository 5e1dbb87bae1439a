"""The network configuration is versioned data, selectable by settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from v2v_events.contracts.common import TemperatureClass
from v2v_events.contracts.logistics import CollectionScheduled
from v2v_logistics.adapters.config import load_network
from v2v_logistics.domain.network import NetworkConfig
from v2v_logistics.settings import LogisticsSettings
from v2v_runtime.errors import DomainError
from v2v_runtime.testing import ServiceHarness

from .conftest import HarnessFactory
from .support import TEST_NETWORK, THU_26, new_coi, schedule


def test_packaged_configuration() -> None:
    network = load_network()
    assert network.config_version == "network.v1"
    site = network.site("manufacturing-site-1")
    assert site.slots_per_day == 4 and site.manufacturing_days == (
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
    )
    assert network.scheduling_horizon_days == 28
    assert network.collection.collection_to_slot_days == 1
    assert network.center("treatment-center-1").lymphodepletion_lead_days == 3
    assert network.limits(TemperatureClass.FRESH_2_8).max_c == 8.0
    assert network.limits(TemperatureClass.CRYO_VAPOR).max_c == -150.0
    assert network.logger.max_data_gap_minutes == 30


def test_unknown_site_and_center_are_domain_errors() -> None:
    with pytest.raises(DomainError) as site:
        TEST_NETWORK.site("nowhere")
    assert site.value.code == "unknown-manufacturing-site" and site.value.status == 422
    with pytest.raises(DomainError) as center:
        TEST_NETWORK.center("nowhere")
    assert center.value.code == "unknown-treatment-center" and center.value.status == 422


@pytest.mark.requirement("EU-PartIV.10.5")
def test_every_temperature_class_needs_limits() -> None:
    data = TEST_NETWORK.model_dump(mode="json")
    del data["temperature_classes"]["cryo-le-minus-150C"]
    with pytest.raises(ValidationError, match="cryo-le-minus-150C"):
        NetworkConfig.model_validate(data)


async def test_settings_select_the_configuration_file(
    tmp_path: Path, make_harness: HarnessFactory
) -> None:
    data = TEST_NETWORK.model_dump(mode="json")
    data["config_version"] = "site-review-2026-12"
    path = tmp_path / "network.json"
    path.write_text(json.dumps(data))
    settings = LogisticsSettings(
        database_url=ServiceHarness.sqlite_url(tmp_path, "configured"),
        network_config=path,
        log_json=False,
    )
    h = await make_harness(network=None, settings=settings)
    coi = new_coi()
    await schedule(h, coi, THU_26)
    [msg] = await h.published(CollectionScheduled)
    async with h.client() as c:
        [booking] = (await c.get("/bookings", params={"coi": coi})).json()
        cap = await c.get("/capacity/site-a", params={"from": "2026-11-27", "to": "2026-11-27"})
    assert booking["booking_id"] == msg.booking_id
    assert booking["config_version"] == "site-review-2026-12"
    assert cap.json()["config_version"] == "site-review-2026-12"
