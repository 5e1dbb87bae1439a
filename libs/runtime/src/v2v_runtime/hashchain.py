"""Tamper evidence: each stored event carries the hash of the previous event of its stream.

The hash covers every column that makes the record what it is (ALCOA+: original, enduring),
so an altered value, a removed event or two events swapped break the chain at a row that
`v2v audit verify` can name. Seals (v2v_runtime.seal) chain the stream heads the same way,
so a stream removed whole, or a store set back to an earlier state, shows up too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical_digest(body: dict[str, Any]) -> str:
    """SHA-256 (hex) of canonical JSON: sorted keys, no spaces, UTF-8 (published for seals)."""
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def canonical_time(value: datetime) -> str:
    # SQLite hands back naive datetimes; everything is written in UTC, so normalise to it.
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat(timespec="microseconds")


def event_hash(
    *,
    prev_hash: str,
    stream_id: str,
    version: int,
    event_id: str,
    event_type: str,
    schema_version: int,
    payload: dict[str, Any],
    recorded_at: datetime,
    actor: dict[str, Any],
    correlation_id: str | None,
    causation_id: str | None,
) -> str:
    body = {
        "prev_hash": prev_hash,
        "stream_id": stream_id,
        "version": version,
        "event_id": event_id,
        "event_type": event_type,
        "schema_version": schema_version,
        "payload": payload,
        "recorded_at": canonical_time(recorded_at),
        "actor": actor,
        "correlation_id": correlation_id,
        "causation_id": causation_id,
    }
    return canonical_digest(body)


def seal_hash(
    *,
    service: str,
    seq: int,
    sealed_at: datetime,
    prev_hash: str,
    entries: Sequence[tuple[str, int, str]],
) -> str:
    """The hash of a seal (documented for auditors in v2v_events.contracts.store)."""
    return canonical_digest(
        {
            "service": service,
            "seq": seq,
            "sealed_at": canonical_time(sealed_at),
            "prev_hash": prev_hash,
            "entries": [[sid, version, head] for sid, version, head in entries],
        }
    )
