"""Seals of the services' event stores, published on ``v2v.<service>.seals``.

Every ``V2V_SEAL_INTERVAL_S`` seconds each service's relay seals its event store: a seal
names the streams that moved since the previous seal (stream id, version, hash of the event
at that version) and carries the previous seal's hash, so the newest seal stands for the
whole store. The compacted topic keeps the newest seal outside the database; auditors may
archive every seal. ``hash`` is SHA-256 over the canonical JSON (sorted keys, no spaces,
UTF-8) of ``{service, seq, sealed_at, prev_hash, entries}`` with ``sealed_at`` as an RFC 3339
UTC time with microseconds (``2026-11-02T09:15:00.000000+00:00``). The record key and
``ce_subject`` are the service name; no seal carries patient-identifying data.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from ..bounds import INT32_MAX, BoundedDatetime
from ..catalog import Service, TopicKind
from ..registry import REGISTRY, Contract

SHA256_HEX = r"^[0-9a-f]{64}$"
MAX_ENTRIES = 800  # a seal stays under the consumers' 256 KiB record limit, whatever ids
STREAM_ID_MAX = 200  # as the event store's column

Sha256 = Annotated[str, StringConstraints(pattern=SHA256_HEX, max_length=64)]
SealEntry = tuple[
    Annotated[str, StringConstraints(min_length=1, max_length=STREAM_ID_MAX)],
    Annotated[int, Field(ge=1, le=INT32_MAX)],
    Sha256,
]
"""``[stream_id, version, head_hash]``: a stream as it stood when sealed."""


class StoreSealed(Contract):
    """Base of the per-service seal contracts (never sent as such)."""

    service: str = Field(min_length=1, max_length=32)
    seq: int = Field(ge=1, le=2**63 - 1, description="1, 2, 3… per service; consecutive")
    sealed_at: BoundedDatetime
    prev_hash: Sha256 = Field(description="the previous seal's hash; 64 zeros")
    entries: list[SealEntry] = Field(
        min_length=1,
        max_length=MAX_ENTRIES,
        description="the streams that moved since the previous seal",
    )
    hash: Sha256


@REGISTRY.event(Service.CUSTODY, "store.sealed", channel=TopicKind.SEALS)
class CustodyStoreSealed(StoreSealed):
    """Custody sealed its event store: the streams that moved, chained to the previous seal."""


@REGISTRY.event(Service.LOGISTICS, "store.sealed", channel=TopicKind.SEALS)
class LogisticsStoreSealed(StoreSealed):
    """Logistics sealed its event store: the streams that moved, chained to the previous seal."""


@REGISTRY.event(Service.BATCH, "store.sealed", channel=TopicKind.SEALS)
class BatchStoreSealed(StoreSealed):
    """Batch sealed its event store: the streams that moved, chained to the previous seal."""


@REGISTRY.event(Service.QC, "store.sealed", channel=TopicKind.SEALS)
class QcStoreSealed(StoreSealed):
    """QC sealed its event store: the streams that moved, chained to the previous seal."""


SEAL_CONTRACTS: dict[Service, type[StoreSealed]] = {
    Service.CUSTODY: CustodyStoreSealed,
    Service.LOGISTICS: LogisticsStoreSealed,
    Service.BATCH: BatchStoreSealed,
    Service.QC: QcStoreSealed,
}


def seal_contract(service: Service | str) -> type[StoreSealed]:
    """The seal contract of ``service`` (ValueError for a service without an event store)."""
    try:
        return SEAL_CONTRACTS[Service(service)]
    except (KeyError, ValueError):
        raise ValueError(f"{service!r} has no event store to seal") from None
