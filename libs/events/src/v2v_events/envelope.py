"""CloudEvents 1.0 envelope, carried on Kafka in binary content mode.

Binary mode puts the context attributes in Kafka headers (``ce_<attribute>``) and the event
data, JSON, in the record value; the record key is the chain-of-identity id (also the
CloudEvents ``subject``) so one patient's messages stay ordered within a partition.
Extensions: ``correlationid`` and ``causationid`` (message lineage), ``actor`` (who caused
the message: a person's subject id at the identity provider, or ``system:<client or
service>`` for an automatic reaction, whose causation id leads to the act behind it),
``schemaversion`` (the data's schema version) and the W3C trace context
(``traceparent``/``tracestate``, the CloudEvents distributed-tracing extension, sent under
its plain W3C header names so any OpenTelemetry propagator reads them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from .bounds import ID_MAX

SPEC_VERSION = "1.0"
JSON = "application/json"

# Kafka header names, binary content mode (CloudEvents Kafka protocol binding 1.0).
H_ID = "ce_id"
H_TYPE = "ce_type"
H_SOURCE = "ce_source"
H_SPECVERSION = "ce_specversion"
H_TIME = "ce_time"
H_SUBJECT = "ce_subject"
H_DATASCHEMA = "ce_dataschema"
H_SCHEMAVERSION = "ce_schemaversion"
H_CORRELATION = "ce_correlationid"
H_CAUSATION = "ce_causationid"
H_ACTOR = "ce_actor"
H_CONTENT_TYPE = "content-type"
H_TRACEPARENT = "traceparent"
H_TRACESTATE = "tracestate"

REQUIRED_HEADERS = (H_ID, H_TYPE, H_SOURCE, H_SPECVERSION, H_TIME, H_SUBJECT, H_CONTENT_TYPE)

# The largest record value a vein2vein consumer accepts. Our messages are a few KiB; a
# bigger one is refused as undecodable (and dead-lettered whole) rather than parsed.
MAX_VALUE_BYTES = 256 * 1024


class EnvelopeError(ValueError):
    """A Kafka record that is not a valid vein2vein CloudEvent."""


class Envelope(BaseModel):
    """One CloudEvent: context attributes plus JSON data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    source: str = Field(min_length=1)
    specversion: Literal["1.0"] = "1.0"
    time: AwareDatetime
    subject: str = Field(min_length=1, description="chain-of-identity id; also the Kafka key")
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    schemaversion: int = Field(ge=1)
    correlationid: str | None = None
    causationid: str | None = None
    actor: str | None = Field(None, max_length=ID_MAX)
    traceparent: str | None = None
    tracestate: str | None = None
    data: dict[str, Any]


@dataclass(frozen=True)
class KafkaRecord:
    """What goes on the wire: key, value and headers, as bytes."""

    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v.decode("utf-8")
        return None


def _encode_time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def dumps_data(data: Mapping[str, Any]) -> bytes:
    """Stable JSON for the record value (sorted keys, compact)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def to_kafka(envelope: Envelope) -> KafkaRecord:
    headers: list[tuple[str, bytes]] = [
        (H_SPECVERSION, envelope.specversion.encode()),
        (H_ID, envelope.id.encode()),
        (H_TYPE, envelope.type.encode()),
        (H_SOURCE, envelope.source.encode()),
        (H_TIME, _encode_time(envelope.time).encode()),
        (H_SUBJECT, envelope.subject.encode()),
        (H_CONTENT_TYPE, envelope.datacontenttype.encode()),
        (H_SCHEMAVERSION, str(envelope.schemaversion).encode()),
    ]
    optional = (
        (H_DATASCHEMA, envelope.dataschema),
        (H_CORRELATION, envelope.correlationid),
        (H_CAUSATION, envelope.causationid),
        (H_ACTOR, envelope.actor),
        (H_TRACEPARENT, envelope.traceparent),
        (H_TRACESTATE, envelope.tracestate),
    )
    headers.extend((name, value.encode()) for name, value in optional if value)
    return KafkaRecord(envelope.subject.encode(), dumps_data(envelope.data), tuple(headers))


def headers_to_dict(headers: Iterable[tuple[str, bytes | str | None]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, raw in headers:
        if raw is None:
            continue
        try:
            out[name] = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        except UnicodeDecodeError as exc:
            raise EnvelopeError(f"header {name!r} is not UTF-8") from exc
    return out


def from_kafka(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes | None]]
) -> Envelope:
    """Parse a binary-mode record; any defect raises EnvelopeError with the reason."""
    h = headers_to_dict(headers)
    missing = [name for name in REQUIRED_HEADERS if name not in h]
    if missing:
        raise EnvelopeError(f"missing CloudEvents headers: {', '.join(missing)}")
    if h[H_CONTENT_TYPE].split(";")[0].strip() != JSON:
        raise EnvelopeError(f"unsupported content-type {h[H_CONTENT_TYPE]!r}")
    if value is None:
        raise EnvelopeError("record has no value")
    if len(value) > MAX_VALUE_BYTES:
        raise EnvelopeError(f"value of {len(value)} bytes exceeds the {MAX_VALUE_BYTES}-byte limit")
    try:
        data = json.loads(value)
    except (ValueError, RecursionError) as exc:  # bad UTF-8, bad JSON, absurd nesting
        raise EnvelopeError(f"value is not JSON: {type(exc).__name__}: {exc}") from exc
    if not isinstance(data, dict):
        raise EnvelopeError("data must be a JSON object")
    subject = h[H_SUBJECT]
    if key is not None and key.decode("utf-8", "replace") != subject:
        raise EnvelopeError("record key differs from ce_subject (the chain-of-identity id)")
    try:
        return Envelope(
            id=h[H_ID],
            type=h[H_TYPE],
            source=h[H_SOURCE],
            specversion=h[H_SPECVERSION],
            time=h[H_TIME],
            subject=subject,
            dataschema=h.get(H_DATASCHEMA),
            schemaversion=h.get(H_SCHEMAVERSION, "1"),
            correlationid=h.get(H_CORRELATION),
            causationid=h.get(H_CAUSATION),
            actor=h.get(H_ACTOR),
            traceparent=h.get(H_TRACEPARENT),
            tracestate=h.get(H_TRACESTATE),
            data=data,
        )
    except ValidationError as exc:
        raise EnvelopeError(f"invalid CloudEvents attributes: {exc}") from exc
