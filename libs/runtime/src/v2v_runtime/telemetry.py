"""OpenTelemetry for every process: traces and metrics, exported over OTLP only when the
standard OTEL_* variables ask for it (OTEL_EXPORTER_OTLP_ENDPOINT, or the _TRACES_/_METRICS_
variants; OTEL_SERVICE_NAME names the process). With none set nothing leaves the process,
but trace context still travels on every hop.

``V2V_TRACE_FILE=path`` also appends every finished span as one JSON line to a file: used by
the cross-process trace test and handy when debugging locally without a collector.

No patient data goes into span attributes or baggage: ids of messages, types and topics only.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

METER_NAME = "v2v_runtime"
_configured = False


def otlp_wanted(signal: str) -> bool:
    return (
        bool(
            os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            or os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")
        )
        and os.environ.get(f"OTEL_{signal}_EXPORTER", "otlp") != "none"
    )


class JsonLinesSpanExporter(SpanExporter):
    """Appends spans to a file, one JSON object per line (several processes may share it)."""

    def __init__(self, path: Path, service: str) -> None:
        self._path = path
        self._service = service
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = []
        for s in spans:
            ctx = s.get_span_context()
            if ctx is None:
                continue
            lines.append(
                json.dumps(
                    {
                        "service": self._service,
                        "name": s.name,
                        "kind": s.kind.name,
                        "trace_id": format(ctx.trace_id, "032x"),
                        "span_id": format(ctx.span_id, "016x"),
                        "parent_span_id": format(s.parent.span_id, "016x") if s.parent else None,
                        "attributes": {k: str(v) for k, v in (s.attributes or {}).items()},
                    }
                )
            )
        with self._lock, self._path.open("a") as out:
            out.write("".join(line + "\n" for line in lines))
        return SpanExportResult.SUCCESS


def configure(service: str) -> None:
    """Install the tracer and meter providers once per process."""
    global _configured
    if _configured:
        return
    _configured = True
    name = os.environ.get("OTEL_SERVICE_NAME") or f"vein2vein-{service}"
    resource = Resource.create({"service.name": name, "service.namespace": "vein2vein"})
    provider = TracerProvider(resource=resource)
    if otlp_wanted("TRACES"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace_file = os.environ.get("V2V_TRACE_FILE")
    if trace_file:
        provider.add_span_processor(
            SimpleSpanProcessor(JsonLinesSpanExporter(Path(trace_file), name))
        )
    trace.set_tracer_provider(provider)
    readers: list[MetricReader] = []
    if otlp_wanted("METRICS"):
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))


class Instruments:
    """The platform's metrics (names follow OpenTelemetry conventions, prefixed v2v.)."""

    def __init__(self, meter: metrics.Meter | None = None) -> None:
        meter = meter or metrics.get_meter(METER_NAME)
        self.handled = meter.create_counter(
            "v2v.messages.handled", unit="{message}", description="messages handled by a consumer"
        )
        self.failed = meter.create_counter(
            "v2v.messages.failed", unit="{attempt}", description="handler attempts that failed"
        )
        self.dead_lettered = meter.create_counter(
            "v2v.messages.dead_lettered", unit="{message}", description="messages dead-lettered"
        )
        self.unknown_type = meter.create_counter(
            "v2v.messages.unknown_type",
            unit="{message}",
            description="events of a type this consumer's registry does not know (skipped)",
        )
        self.published = meter.create_counter(
            "v2v.outbox.published", unit="{message}", description="outbox rows published"
        )
        self.relay_lag = meter.create_histogram(
            "v2v.outbox.relay_lag", unit="s", description="commit of a row until its publication"
        )
        self._backlog: dict[str, int] = {}
        meter.create_observable_gauge(
            "v2v.outbox.backlog",
            callbacks=[self._observe_backlog],
            unit="{message}",
            description="outbox rows not yet published (as of the relay's last look)",
        )

    def set_backlog(self, service: str, rows: int) -> None:
        self._backlog[service] = rows

    def _observe_backlog(self, _: Any) -> list[metrics.Observation]:
        return [metrics.Observation(v, {"service": k}) for k, v in self._backlog.items()]


_instruments: Instruments | None = None


def use_instruments(replacement: Instruments) -> None:
    """Swap the process's instruments (tests read them from their own reader)."""
    global _instruments
    _instruments = replacement


def instruments() -> Instruments:
    global _instruments
    if _instruments is None:
        _instruments = Instruments()
    return _instruments
