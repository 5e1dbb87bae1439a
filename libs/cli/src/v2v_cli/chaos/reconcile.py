"""Nothing lost, nothing doubled, by message id: each service's outbox against the topics,
the topics against each consumer's inbox; effects applied twice in the event stores (one
Kafka message twice) or in the Idempotency-Key claims (the same HTTP request applied
under two keys); effects a journey has once are counted in ``doubles``."""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from v2v_cli.chaos import kafka_log
from v2v_cli.chaos.kafka_log import Record
from v2v_events.catalog import commands_topic, consumer_group
from v2v_events.registry import REGISTRY
from v2v_runtime.db.tables import events, idempotency, inbox, outbox
from v2v_runtime.service import ServiceSpec

_SHOWN = 20  # findings listed per kind (all are counted)


@dataclass
class Delivery:
    outbox: int = 0  # rows written
    published: int = 0  # of them, on their topic
    to_consume: int = 0  # records the services' consumers must apply
    applied: int = 0  # of them, in the consumer's inbox as processed
    republished: int = 0  # the same message id more than once on its topic (at-least-once)
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    dead_letters: list[str] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return len(getattr(self, kind))


def handled(service: str) -> tuple[set[str], list[str]]:
    """The message types ``service``'s consumer applies, and the topics it reads."""
    spec: ServiceSpec = importlib.import_module(f"v2v_{service}.bootstrap").build()
    types = {REGISTRY.for_model(model).name for model in spec.handlers}
    return types, [commands_topic(service), *spec.subscribed_topics]


async def reconcile(
    engines: dict[str, AsyncEngine], records: Sequence[Record], dead: Sequence[Record]
) -> Delivery:
    found = Delivery()
    on_topic = Counter((r.topic, r.id) for r in records)
    found.republished = sum(n - 1 for n in on_topic.values() if n > 1)
    for service, engine in engines.items():
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        outbox.c.message_id, outbox.c.topic, outbox.c.key, outbox.c.published_at
                    ).order_by(outbox.c.id)
                )
            ).all()
            inbox_rows = (
                await conn.execute(select(inbox.c.message_id, inbox.c.outcome, inbox.c.error))
            ).all()
            doubled_effects = (
                await conn.execute(
                    select(
                        events.c.causation_id, events.c.stream_id, events.c.event_type, func.count()
                    )
                    .where(events.c.causation_id.is_not(None))
                    .group_by(events.c.causation_id, events.c.stream_id, events.c.event_type)
                    .having(func.count() > 1)
                )
            ).all()
            doubled_requests = (
                await conn.execute(
                    select(idempotency.c.scope, func.count())
                    .where(_applied(idempotency.c.response_status))
                    .group_by(idempotency.c.scope, idempotency.c.request_hash)
                    .having(func.count() > 1)
                )
            ).all()
        _outbox(service, rows, on_topic, found)
        _inbox(service, inbox_rows, records, found)
        found.doubled += [
            f"{service}: message {c} applied {n} times ({t} on {s})"
            for c, s, t, n in doubled_effects
        ]
        found.doubled += [
            f"{service}: one request applied {n} times ({s})" for s, n in doubled_requests
        ]
    found.dead_letters += [f"{r.topic}: {r.type or '?'} {r.id} ({r.subject})" for r in dead]
    return found


def _applied(status: ColumnElement[int | None]) -> ColumnElement[bool]:
    """A request that acted: answered 2xx, or its answer lost. A refusal is committed too
    when it is evidence (a refused scan), but it changed nothing: scanning again is fine."""
    return or_(status.is_(None), status.between(200, 299))


def _outbox(
    service: str,
    rows: Sequence[tuple[str, str, str, object]],
    on_topic: Counter[tuple[str, str]],
    found: Delivery,
) -> None:
    """Each outbox row (in order) on its topic; on a compacted topic only the newest row of
    each key must still be there: the broker may have dropped the ones it replaces."""
    compacted = set(kafka_log.compacted_topics())
    newest = {(topic, key): message_id for message_id, topic, key, _ in rows}
    for message_id, topic, key, published_at in rows:
        found.outbox += 1
        if on_topic[(topic, message_id)]:
            found.published += 1
        elif topic in compacted and published_at and newest[(topic, key)] != message_id:
            found.published += 1  # replaced by a newer record of its key
        elif published_at is None:
            found.lost.append(f"{service} outbox {message_id} ({topic}): never published")
        else:
            found.lost.append(f"{service} outbox {message_id}: marked published, not on {topic}")


def _inbox(
    service: str,
    rows: Iterable[tuple[str, str, str | None]],
    records: Sequence[Record],
    found: Delivery,
) -> None:
    types, topics = handled(service)
    group = consumer_group(service, "inbox")
    outcome = {message_id: (state, error) for message_id, state, error in rows}
    wanted = {r.id: r for r in records if r.topic in topics and r.type in types}
    for message_id, record in wanted.items():
        found.to_consume += 1
        state, error = outcome.get(message_id, (None, None))
        if state == "processed":
            found.applied += 1
        elif state == "dead_lettered":
            last = (error or "").strip().splitlines()[-1:] or ["?"]
            found.dead_letters.append(f"{group}: {record.type} {message_id}: {last[0]}")
        else:
            found.lost.append(f"{record.topic} {record.type} {message_id} never in {group}'s inbox")
    on_topics = {r.id for r in records if r.topic in topics}
    for message_id in outcome:
        if message_id not in on_topics:
            found.lost.append(f"{group}'s inbox names {message_id}, which is on none of its topics")


def shown(items: list[str]) -> list[str]:
    more = len(items) - _SHOWN
    return items[:_SHOWN] + ([f"… and {more} more"] if more > 0 else [])
