"""The rules of supplied materials, without I/O: units, a lot's life (quarantine → released
/ rejected, expired by the clock) and when its use is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from v2v_batch.domain import Operator, SeparationOfDuties
from v2v_batch.domain.material_events import MaterialDefined, MaterialType, StorageCondition
from v2v_batch.domain.material_lot import (
    MaterialLot,
    MaterialLotStatus,
    MaterialUseRefused,
    Receipt,
)
from v2v_batch.domain.material_master import MaterialDefinition
from v2v_batch.domain.material_units import convert
from v2v_runtime.errors import Conflict, DomainError

T = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
SITE = "SITE-BERLIN-1"
HANDLER = Operator(user_id="u-handler", role="materials-handler")
QA = Operator(user_id="u-qa", role="qa-reviewer")
VECTOR = MaterialDefined(
    material_code="LV-CD19-01",
    name="Lentiviral vector",
    material_type=MaterialType.VECTOR,
    storage_condition=StorageCondition.FROZEN_MINUS_80,
    unit="mL",
    defined_at=T,
    defined_by=QA,
)


def lot(
    quantity: float = 10, unit: str = "mL", expires_in: timedelta = timedelta(days=90)
) -> MaterialLot:
    receipt = Receipt(
        site=SITE,
        supplier="Vectorworks",
        supplier_lot="LV26-0114",
        quantity=quantity,
        unit=unit,
        expires_at=T + expires_in,
        certificate_ref="COA-1",
    )
    return MaterialLot.receive("lot-1", VECTOR, receipt, received_at=T, received_by=HANDLER)


def released(**kwargs: object) -> MaterialLot:
    found = lot(**kwargs)  # type: ignore[arg-type]
    found.release(by=QA, at=T + timedelta(hours=1), signature_id="sig-1")
    return found


def refusal(found: MaterialLot, *args: object) -> MaterialUseRefused:
    with pytest.raises(MaterialUseRefused) as caught:
        found.check_use(*args)  # type: ignore[arg-type]
    return caught.value


# --- units -------------------------------------------------------------------------------


def test_units_convert_within_their_dimension_exactly() -> None:
    assert convert(Decimal("2.5"), "L", "mL") == Decimal(2500)
    assert convert(Decimal(500), "uL", "mL") == Decimal("0.5")
    assert convert(Decimal(1), "µg", "mg") == Decimal("0.001")
    assert convert(Decimal(3), "vial", "vial") == Decimal(3)


@pytest.mark.parametrize(
    ("unit", "into", "code"),
    [
        ("mL", "vial", "unit-incompatible"),
        ("g", "mL", "unit-incompatible"),
        ("bag", "each", "unit-incompatible"),
        ("litre", "mL", "unit-unknown"),
    ],
)
def test_units_of_other_dimensions_are_refused_naming_the_field(
    unit: str, into: str, code: str
) -> None:
    with pytest.raises(DomainError) as caught:
        convert(Decimal(1), unit, into)
    assert (caught.value.code, caught.value.extra["field"]) == (code, "unit")


# --- the material master -----------------------------------------------------------------


def test_a_material_is_defined_once_and_kept() -> None:
    material = MaterialDefinition(MaterialDefinition.stream_for("LV-CD19-01"))
    values = {
        "name": "Lentiviral vector",
        "material_type": MaterialType.VECTOR,
        "storage_condition": StorageCondition.FROZEN_MINUS_80,
        "unit": "mL",
        "defined_at": T,
        "defined_by": QA,
    }
    assert material.define(**values) is True  # type: ignore[arg-type]
    assert material.define(**values) is False  # type: ignore[arg-type]
    with pytest.raises(Conflict) as caught:
        material.define(**values | {"storage_condition": StorageCondition.AMBIENT})  # type: ignore[arg-type]
    assert caught.value.code == "material-already-defined"
    assert len(material.pending) == 1
    with pytest.raises(DomainError) as bad:
        MaterialDefinition.stream_for("no spaces")
    assert bad.value.code == "material-code-invalid"


# --- receipt and disposition -------------------------------------------------------------


def test_a_received_lot_is_in_quarantine_and_its_use_refused() -> None:
    found = lot()
    assert found.status is MaterialLotStatus.QUARANTINE
    assert found.remaining == Decimal(10)
    r = refusal(found, "LV-CD19-01", 1.0, "mL", T, SITE)
    assert (r.code, r.status, r.extra["field"]) == ("material-lot-quarantine", 422, "lot_id")


def test_receipt_refuses_an_incompatible_unit_and_an_expired_lot() -> None:
    with pytest.raises(DomainError) as caught:
        lot(unit="vial")
    assert (caught.value.code, caught.value.extra["field"]) == ("unit-incompatible", "unit")
    with pytest.raises(DomainError) as caught:
        lot(expires_in=timedelta(0))
    assert caught.value.code == "material-lot-expired-at-receipt"
    assert lot(quantity=2, unit="L").remaining == Decimal(2)  # counted in L, a mL material


def test_who_received_a_lot_never_releases_it() -> None:
    found = lot()
    with pytest.raises(SeparationOfDuties) as caught:
        found.release(by=Operator(user_id="u-handler", role="qa-reviewer"), at=T, signature_id="s")
    assert (caught.value.code, caught.value.status) == ("release-by-receiver", 403)
    assert found.status is MaterialLotStatus.QUARANTINE


def test_only_a_lot_in_quarantine_and_not_expired_is_released() -> None:
    found = released()
    with pytest.raises(Conflict) as caught:
        found.release(by=QA, at=T, signature_id="s")
    assert caught.value.code == "material-lot-not-in-quarantine"
    old = lot(expires_in=timedelta(days=1))
    with pytest.raises(Conflict) as caught:
        old.check_release(T + timedelta(days=1))
    assert caught.value.code == "material-lot-expired"


def test_a_released_lot_may_be_rejected_then_never_used() -> None:
    found = released()
    found.reject(reason="supplier recall", by=QA, at=T + timedelta(days=2), signature_id="s2")
    assert found.status is MaterialLotStatus.REJECTED
    assert refusal(found, "LV-CD19-01", 1.0, "mL", T, SITE).code == "material-lot-rejected"
    with pytest.raises(Conflict) as caught:
        found.check_rejection("again")
    assert caught.value.code == "material-lot-already-rejected"
    with pytest.raises(DomainError) as blank:
        lot().check_rejection("  ")
    assert blank.value.code == "rejection-reason-required"


# --- use -----------------------------------------------------------------------------------


def test_expiry_applies_by_itself_at_the_time_of_use() -> None:
    found = released(expires_in=timedelta(days=30))
    expiry = T + timedelta(days=30)
    assert found.check_use("LV-CD19-01", 1.0, "mL", expiry - timedelta(seconds=1), SITE)
    assert found.state_at(expiry) is MaterialLotStatus.EXPIRED
    assert found.status is MaterialLotStatus.RELEASED  # nothing recorded: the clock says it
    r = refusal(found, "LV-CD19-01", 1.0, "mL", expiry, SITE)
    assert r.code == "material-lot-expired"


def test_use_is_refused_for_another_material_another_site_or_too_much() -> None:
    found = released()
    r = refusal(found, "RGT-CD3CD28", 1.0, "mL", T, SITE)
    assert (r.code, r.extra["material_code"]) == ("wrong-material", "LV-CD19-01")
    assert refusal(found, "LV-CD19-01", 1.0, "mL", T, "SITE-PARIS-1").code == (
        "material-lot-at-another-site"
    )
    r = refusal(found, "LV-CD19-01", 10.5, "mL", T, SITE)
    assert (r.code, r.extra["field"], r.extra["remaining"]) == (
        "material-lot-insufficient",
        "quantity",
        10.0,
    )


def test_consumption_draws_the_lot_down_to_exactly_nothing() -> None:
    found = released(quantity=1, unit="L")
    at = T + timedelta(days=1)
    for _ in range(10):
        found.consume(
            batch_id="b",
            step="transduction",
            material_code="LV-CD19-01",
            quantity=0.1,
            unit="L",
            at=at,
            site=SITE,
        )
    assert found.remaining == Decimal(0)
    assert refusal(found, "LV-CD19-01", 1.0, "uL", at, SITE).code == "material-lot-insufficient"
    with pytest.raises(DomainError) as caught:
        found.check_use("LV-CD19-01", 0.0, "mL", at, SITE)
    assert caught.value.code == "quantity-invalid"
    replayed = MaterialLot.replay(found.id, found.pending)
    assert replayed.remaining == Decimal(0)


def test_a_quantity_in_another_unit_of_the_dimension_is_converted() -> None:
    found = released()
    assert found.check_use("LV-CD19-01", 500, "uL", T, SITE) == Decimal("0.5")
    with pytest.raises(DomainError) as caught:
        found.check_use("LV-CD19-01", 1, "vial", T, SITE)
    assert not isinstance(caught.value, MaterialUseRefused)  # bad input, not a refused scan
    assert caught.value.code == "unit-incompatible"
