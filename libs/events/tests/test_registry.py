"""Registry, upcasting and the golden samples."""

from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from v2v_events import REGISTRY, Registry, RegistryError, Service, golden
from v2v_events.registry import Contract, Kind

HERE = Path(__file__).parent


@pytest.mark.requirement("EU-Annex11.4.8")
def test_every_registered_type_has_a_golden_sample_for_every_version() -> None:
    assert len(REGISTRY) > 0
    for mt in REGISTRY:
        assert golden.versions(mt.name) == list(range(1, mt.version + 1)), mt.name


@pytest.mark.requirement("EU-Annex11.4.8", "EU-Annex11.17")
@pytest.mark.parametrize("mt", list(REGISTRY), ids=lambda m: m.name)
def test_golden_samples_decode_and_current_version_is_stable(mt: Any) -> None:
    for version in golden.versions(mt.name):
        decoded = REGISTRY.decode(mt.name, version, golden.load(mt.name, version))
        assert isinstance(decoded, mt.model)
    current = golden.load(mt.name, mt.version)
    # the wire format of the current version must not drift
    assert REGISTRY.decode(mt.name, mt.version, current).model_dump(mode="json") == current


def test_type_names_and_topics() -> None:
    mt = REGISTRY.get("org.vein2vein.custody.patient.enrolled")
    assert mt.kind is Kind.EVENT
    assert mt.topic == "v2v.custody.events"
    assert mt.dataschema.endswith(":1")


def test_unknown_type_is_a_registry_error() -> None:
    with pytest.raises(RegistryError, match="unknown message type"):
        REGISTRY.decode("org.vein2vein.nope", 1, {})


# --- upcasting, on a registry of its own so the public one holds only real contracts ----

_TEST = Registry()


@_TEST.event(Service.QC, "sample.measured", version=3)
class SampleMeasured(Contract):
    """v1: viability as a 0-1 fraction; v2: as a percentage; v3: adds the method."""

    lot_id: str
    viability_pct: float = Field(ge=0, le=100)
    method: str = "unspecified"


@_TEST.upcaster(SampleMeasured, from_version=1)
def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k != "viability"}
    out["viability_pct"] = round(data["viability"] * 100, 6)
    return out


@_TEST.upcaster(SampleMeasured, from_version=2)
def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "method": "unspecified"}


@pytest.mark.requirement("EU-Annex11.4.8", "EU-Annex11.17")
@pytest.mark.parametrize("version", [1, 2, 3])
def test_older_versions_upcast_to_current(version: int) -> None:
    root = HERE / "golden_upcast"
    name = "org.vein2vein.qc.sample.measured"
    msg = _TEST.decode(name, version, golden.load(name, version, root))
    assert isinstance(msg, SampleMeasured)
    assert msg.lot_id == "LOT-1"
    assert msg.viability_pct == pytest.approx(82.5)
    assert msg.method == ("flow-7AAD" if version == 3 else "unspecified")


def test_newer_version_than_known_is_read_ignoring_unknown_fields() -> None:
    msg = _TEST.decode(
        "org.vein2vein.qc.sample.measured",
        4,
        {"lot_id": "L", "viability_pct": 90, "method": "m", "added_in_v4": True},
    )
    assert isinstance(msg, SampleMeasured)


def test_missing_upcaster_is_an_error() -> None:
    reg = Registry()

    @reg.event(Service.QC, "x", version=2)
    class X(Contract):
        a: int

    with pytest.raises(RegistryError, match="no upcaster from version 1"):
        reg.decode("org.vein2vein.qc.x", 1, {"a": 1})


def test_duplicate_registration_is_refused() -> None:
    reg = Registry()

    class Y(Contract):
        a: int

    reg.register(Y, owner=Service.QC, kind=Kind.EVENT, name="y", version=1)
    with pytest.raises(RegistryError, match="twice"):
        reg.register(Y, owner=Service.QC, kind=Kind.EVENT, name="y", version=1)


def test_a_command_names_who_may_send_it() -> None:
    reg = Registry()

    class Order(Contract):
        lot_id: str

    with pytest.raises(RegistryError, match="names the services that may send it"):
        reg.register(Order, owner=Service.QC, kind=Kind.COMMAND, name="x.order", version=1)
    reg.command(Service.QC, "x.order")(Order)
    assert reg.for_model(Order).sender_sources == {"/vein2vein/journey"}
