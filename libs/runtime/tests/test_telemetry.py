from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from v2v_runtime import telemetry
from v2v_runtime.inbox import IncomingRecord, Outcome

from .test_inbox import processor, record


@pytest.fixture
def reader() -> Iterator[InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    before = telemetry.instruments()
    telemetry.use_instruments(telemetry.Instruments(MeterProvider([reader]).get_meter("test")))
    yield reader
    telemetry.use_instruments(before)


def points(reader: InMemoryMetricReader, name: str) -> list[tuple[dict[str, str], float]]:
    data = reader.get_metrics_data()
    out = []
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                if m.name == name:
                    out += [(dict(p.attributes or {}), p.value) for p in m.data.data_points]
    return out


@pytest.mark.requirement("EU-Annex11.13")
async def test_consumers_count_handled_and_dead_lettered(
    uow_factory,
    reader: InMemoryMetricReader,  # type: ignore[no-untyped-def]
) -> None:
    p = processor(uow_factory)
    assert await p.process(record()) is Outcome.PROCESSED
    assert await p.process(record()) is Outcome.DUPLICATE
    assert await p.process(IncomingRecord("t", 0, 1, b"k", b"junk", [])) is Outcome.DEAD_LETTERED
    handled = {a["outcome"]: v for a, v in points(reader, "v2v.messages.handled")}
    assert handled == {"processed": 1, "duplicate": 1}
    [(attrs, count)] = points(reader, "v2v.messages.dead_lettered")
    assert (attrs["reason"], attrs["group"], count) == ("undecodable", "v2v.qc.inbox", 1)


@pytest.mark.parametrize(
    ("env", "wanted"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
    ],
)
def test_otlp_export_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], wanted: bool
) -> None:
    for name in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_TRACES_EXPORTER",
    ):
        monkeypatch.delenv(name, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert telemetry.otlp_wanted("TRACES") is wanted
