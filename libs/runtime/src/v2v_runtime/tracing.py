"""W3C trace context carried from the command, through the outbox row, into Kafka headers
and out of the consumer. Nothing about the patient goes into spans or baggage: spans carry
message ids, types and topics only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

TRACER_NAME = "v2v_runtime"
TRACE_HEADERS = ("traceparent", "tracestate")


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def current_carrier() -> dict[str, str]:
    """The active trace context as W3C headers ({} when there is none)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {k: v for k, v in carrier.items() if k in TRACE_HEADERS}


@contextmanager
def span_from(
    carrier: Mapping[str, str], name: str, kind: SpanKind, attributes: Mapping[str, str | int]
) -> Iterator[Span]:
    """A span whose parent is the context in ``carrier`` (message headers)."""
    parent = propagate.extract(dict(carrier))
    token = otel_context.attach(parent)
    try:
        with tracer().start_as_current_span(name, kind=kind, attributes=dict(attributes)) as span:
            yield span
    finally:
        otel_context.detach(token)
