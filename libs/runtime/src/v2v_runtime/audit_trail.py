"""The audit trail as inspectors read it (21 CFR 11.10(e), EU GMP Annex 11 §9): one entry per
stored event — who (user id, printed name, role), what (event type, the values, old -> new
for a change of earlier values), when (the server's record time; the observed time where the
event reports one, and whether it was entered late), why (reason code and text) — and the
hash-chain verification of the records shown. JSON or CSV (RFC 4180, stable columns).

Built from the event store's rows and the service's decoded domain events; no I/O here.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .domain import Change, DomainEvent
from .eventstore import StoredEvent
from .findings import Finding

REDACTED = "[identity]"
# Payload fields that carry the reason text of a change or refusal, in order of preference.
REASON_TEXT_FIELDS = ("reason", "correction_reason")
# Cells a spreadsheet would run as a formula (CSV injection): such free text gets a leading '.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class TrailEntry(BaseModel):
    """One stored event, for an inspector."""

    model_config = ConfigDict(frozen=True)

    position: int  # in the service's event store: the order things were recorded in
    record: str  # the stream (the record's id)
    version: int  # of the record
    event_id: str
    event_type: str
    schema_version: int
    coi: str | None
    recorded_at: datetime  # the server's time: always the record time
    observed_at: datetime | None  # the latest time the entry reports, if it reports one
    observed: dict[str, datetime]  # every observed time of the entry, by field
    late: bool | None  # entered more than the configured gap after observed_at
    user_id: str | None
    user_name: str | None
    role: str | None
    reason_code: str | None
    reason: str | None
    changes: list[Change]  # old -> new of values entered earlier
    values: dict[str, Any]  # the event's values as stored
    correlation_id: str | None
    causation_id: str | None
    prev_hash: str
    hash: str
    redacted: bool = False  # identity values replaced by "[identity]"


class RecordVerification(BaseModel):
    """One record's hash chain, recomputed when the trail was read."""

    record: str
    status: Literal["ok", "broken"]
    events_checked: int
    findings: list[str]


class Verification(BaseModel):
    status: Literal["ok", "broken"]
    records: list[RecordVerification]


class TrailPage(BaseModel):
    """A page of the trail; ``next_after``: pass it as ``after`` for the next page (None:
    nothing further)."""

    service: str
    entries: list[TrailEntry]
    verification: Verification
    next_after: int | None
    # With a ``coi`` filter: the newest record of that CoI in this service (position, hash),
    # whatever the page — what an audit-trail review before release records as this
    # service's part (the same head the service publishes: audit-trail.advanced).
    head: TrailHead | None = None


class TrailHead(BaseModel):
    service: str
    coi: str
    position: int
    hash: str


def verification_of(checked: Sequence[tuple[str, int, list[Finding]]]) -> Verification:
    records = [
        RecordVerification(
            record=sid,
            status="broken" if findings else "ok",
            events_checked=count,
            findings=[str(f) for f in findings],
        )
        for sid, count, findings in checked
    ]
    broken = any(r.status == "broken" for r in records)
    return Verification(status="broken" if broken else "ok", records=records)


def entry_of(stored: StoredEvent, event: DomainEvent | None, coi: str | None) -> TrailEntry:
    """The entry of ``stored``; ``event``: it decoded by the service (None when the service
    cannot decode it: the stored values are shown as they are)."""
    payload = stored.payload
    actor = stored.actor
    observed: dict[str, datetime] = {}
    late: bool | None = None
    changes: list[Change] = []
    if event is not None:
        observed = {
            f: v for f in type(event).observed_times if isinstance(v := getattr(event, f), datetime)
        }
        if type(event).observed_times:
            late = bool(getattr(event, "late", False))
        changes = event.changes()
    reason = next((payload[f] for f in REASON_TEXT_FIELDS if isinstance(payload.get(f), str)), None)
    code = payload.get("reason_code")
    return TrailEntry(
        position=stored.position,
        record=stored.stream_id,
        version=stored.version,
        event_id=stored.event_id,
        event_type=stored.event_type,
        schema_version=stored.schema_version,
        coi=coi,
        recorded_at=stored.recorded_at,
        observed_at=max(observed.values(), default=None),
        observed=observed,
        late=late,
        user_id=_text(actor.get("user_id")),
        user_name=_text(actor.get("name")),
        role=_text(actor.get("role")),
        reason_code=code if isinstance(code, str) else None,
        reason=reason,
        changes=changes,
        values=payload,
        correlation_id=stored.correlation_id,
        causation_id=stored.causation_id,
        prev_hash=stored.prev_hash,
        hash=stored.hash,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def redacted(entry: TrailEntry, keep: Sequence[str] = ("coi", "reason_code")) -> TrailEntry:
    """``entry`` without patient-identifying values: every value but ``keep`` (and the
    names of changed fields) becomes "[identity]", the reason text too (free text may quote
    the identity). Who, when and the hashes stay."""
    values = {k: (v if k in keep else REDACTED) for k, v in entry.values.items()}
    changes = [Change(field=c.field, old=REDACTED, new=REDACTED) for c in entry.changes]
    reason = None if entry.reason is None else REDACTED
    return entry.model_copy(
        update={"values": values, "changes": changes, "reason": reason, "redacted": True}
    )


CSV_COLUMNS = (
    "position",
    "record",
    "version",
    "event_id",
    "event_type",
    "coi",
    "recorded_at",
    "observed_at",
    "late",
    "user_id",
    "user_name",
    "role",
    "reason_code",
    "reason",
    "changes",
    "values",
    "correlation_id",
    "causation_id",
    "prev_hash",
    "hash",
    "chain",
)


def to_csv(page: TrailPage) -> str:
    """RFC 4180: a header row, then one row per entry; CRLF line ends, fields quoted where
    needed. ``chain`` is the entry's record's verification (ok, or broken: the findings)."""
    chain = {
        r.record: "ok" if r.status == "ok" else "broken: " + "; ".join(r.findings)
        for r in page.verification.records
    }
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    for e in page.entries:
        writer.writerow(
            (
                e.position,
                e.record,
                e.version,
                e.event_id,
                e.event_type,
                e.coi or "",
                e.recorded_at.isoformat(),
                e.observed_at.isoformat() if e.observed_at else "",
                "" if e.late is None else str(e.late).lower(),
                e.user_id or "",
                _cell(e.user_name),
                e.role or "",
                e.reason_code or "",
                _cell(e.reason),
                _cell("; ".join(_change_text(c) for c in e.changes)),
                _json(e.values),
                e.correlation_id or "",
                e.causation_id or "",
                e.prev_hash,
                e.hash,
                chain.get(e.record, ""),
            )
        )
    return out.getvalue()


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _change_text(change: Change) -> str:
    return f"{change.field}: {_json(change.old)} -> {_json(change.new)}"


def _cell(text: str | None) -> str:
    if not text:
        return ""
    return "'" + text if text.startswith(_FORMULA_START) else text
