from datetime import UTC, date, datetime

import pytest

from v2v_events import REGISTRY, EnvelopeError, from_kafka, to_kafka
from v2v_events.contracts.common import Actor
from v2v_events.contracts.custody import PatientEnrolled
from v2v_events.envelope import REQUIRED_HEADERS

COI = "CHA1B2C26000123"
T0 = datetime(2026, 11, 2, 9, 15, tzinfo=UTC)


def _enrolled() -> PatientEnrolled:
    return PatientEnrolled(
        coi=COI,
        therapy="CAR-T",
        product_code="S1234",
        autologous=True,
        treatment_center="tc-1",
        manufacturing_site="site-1",
        apheresis_center="ac-1",
        patient_weight_kg=70.0,
        earliest_collection=date(2026, 11, 30),
        enrolled_at=T0,
        actor=Actor(user_id="u-1", role="coordinator"),
    )


def _envelope():  # type: ignore[no-untyped-def]
    env = REGISTRY.envelope(
        _enrolled(),
        subject=COI,
        source="/v2v/custody",
        id="evt-1",
        time=T0,
        causationid="cmd-9",
        actor="3f2b6c1e-9a57-4d2e-8c1b-2f6a0d4e7b90",
    )
    return env.model_copy(update={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"})


def test_round_trip_keeps_every_attribute_and_data() -> None:
    env = _envelope()
    rec = to_kafka(env)
    assert rec.key == COI.encode()
    back = from_kafka(rec.key, rec.value, list(rec.headers))
    assert back == env
    assert REGISTRY.decode_envelope(back) == _enrolled()


def test_binary_mode_headers() -> None:
    rec = to_kafka(_envelope())
    assert rec.header("ce_specversion") == "1.0"
    assert rec.header("ce_type") == "org.vein2vein.custody.patient.enrolled"
    assert rec.header("ce_subject") == COI
    assert rec.header("ce_time") == "2026-11-02T09:15:00Z"
    assert rec.header("content-type") == "application/json"
    assert rec.header("ce_schemaversion") == "1"
    assert rec.header("ce_correlationid") == "evt-1"  # a new conversation starts with itself
    assert rec.header("ce_causationid") == "cmd-9"
    assert rec.header("ce_actor") == "3f2b6c1e-9a57-4d2e-8c1b-2f6a0d4e7b90"  # who caused it
    assert (
        rec.header(
            "traceparent",
        )
        is not None
    )
    # data only in the value, never in headers
    assert b"tc-1" in rec.value and all(b"tc-1" not in v for _, v in rec.headers)


@pytest.mark.requirement("EU-Annex11.5")
@pytest.mark.parametrize("missing", REQUIRED_HEADERS)
def test_missing_required_header_is_rejected_with_its_name(missing: str) -> None:
    rec = to_kafka(_envelope())
    headers = [(k, v) for k, v in rec.headers if k != missing]
    with pytest.raises(EnvelopeError, match=missing):
        from_kafka(rec.key, rec.value, headers)


@pytest.mark.parametrize(
    ("value", "reason"),
    [(b"{not json", "not JSON"), (b"[1,2]", "JSON object"), (None, "no value")],
)
def test_bad_value_is_rejected(value: bytes | None, reason: str) -> None:
    rec = to_kafka(_envelope())
    with pytest.raises(EnvelopeError, match=reason):
        from_kafka(rec.key, value, list(rec.headers))


@pytest.mark.requirement("EU-Annex11.5")
def test_key_must_be_the_subject() -> None:
    rec = to_kafka(_envelope())
    with pytest.raises(EnvelopeError, match="key differs"):
        from_kafka(b"CHOTHER", rec.value, list(rec.headers))


def test_naive_time_is_rejected() -> None:
    rec = to_kafka(_envelope())
    headers = [(k, b"2026-11-02T09:15:00" if k == "ce_time" else v) for k, v in rec.headers]
    with pytest.raises(EnvelopeError, match="invalid CloudEvents"):
        from_kafka(rec.key, rec.value, headers)
