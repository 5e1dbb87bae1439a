"""What every Kafka consumer of the platform does first with a raw record: decode it (in our
code, from bytes), decide whether it is wanted, dead-letter what cannot be read, and open
the consumer span under the producer's trace. Shared by the service inboxes and the journey
bridge, so both refuse exactly the same records for the same reasons."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from opentelemetry.trace import SpanKind

from v2v_events.envelope import Envelope, EnvelopeError, from_kafka, headers_to_dict
from v2v_events.registry import REGISTRY, Contract, Kind, Registry, RegistryError

from .deadletters import DeadLetterReason, DeadLetters, IncomingRecord, note_unknown_event
from .tracing import span_from


@dataclass(frozen=True)
class Decoded:
    record: IncomingRecord
    envelope: Envelope
    message: Contract


class Skipped(StrEnum):
    DEAD_LETTERED = "dead-lettered"  # unreadable, invalid, or an unknown command
    IGNORED = "ignored"  # a type this consumer does not need


class RecordDecoder:
    """Decodes records for the consumer group of ``dead_letters``: the types named in
    ``wanted`` are decoded and validated; on a commands topic anything else is a dead
    letter (``unknown-type``); on an events topic an unknown type is counted and logged."""

    def __init__(
        self,
        dead_letters: DeadLetters,
        wanted: Collection[str],
        *,
        registry: Registry = REGISTRY,
        commands_topics: Collection[str] = (),
    ) -> None:
        self.dead_letters = dead_letters
        self.group = dead_letters.group
        self._wanted = frozenset(wanted)
        self._registry = registry
        self._commands_topics = frozenset(commands_topics)

    async def decode(self, record: IncomingRecord) -> Decoded | Skipped:
        try:
            envelope = from_kafka(record.key, record.value, record.headers)
        except EnvelopeError as exc:
            await self.dead_letter(record, DeadLetterReason.UNDECODABLE, str(exc))
            return Skipped.DEAD_LETTERED
        if envelope.type not in self._wanted:
            return await self._unwanted(record, envelope)
        if record.topic in self._commands_topics and not self._may_send(envelope):
            await self.dead_letter(
                record,
                DeadLetterReason.UNAUTHORIZED_SOURCE,
                f"{envelope.source!r} may not send {envelope.type!r}",
                envelope=envelope,
            )
            return Skipped.DEAD_LETTERED
        try:
            message = self._registry.decode_envelope(envelope)
        except RegistryError as exc:
            await self.dead_letter(record, DeadLetterReason.INVALID, str(exc), envelope=envelope)
            return Skipped.DEAD_LETTERED
        return Decoded(record, envelope, message)

    def _may_send(self, envelope: Envelope) -> bool:
        """Whether the command's declared source is one of its allowed senders (defence in
        depth: ce_source is self-declared, the broker's ACLs decide who can write at all)."""
        mt = self._registry.get(envelope.type)
        return mt.kind is not Kind.COMMAND or envelope.source in mt.sender_sources

    async def _unwanted(self, record: IncomingRecord, envelope: Envelope) -> Skipped:
        if record.topic in self._commands_topics:
            # A command addressed to us that we cannot act on: never silently dropped.
            known = self._registry.knows(envelope.type)
            why = "no handler here for" if known else "unknown message type"
            await self.dead_letter(
                record,
                DeadLetterReason.UNKNOWN_TYPE,
                f"{why} {envelope.type!r}",
                envelope=envelope,
            )
            return Skipped.DEAD_LETTERED
        if not self._registry.knows(envelope.type):
            note_unknown_event(self.group, envelope)
        return Skipped.IGNORED

    async def dead_letter(
        self,
        record: IncomingRecord,
        reason: DeadLetterReason,
        error: str,
        attempts: int = 0,
        *,
        envelope: Envelope | None = None,
        at: datetime | None = None,
    ) -> None:
        """Send ``record`` to the group's dead-letter topic (``envelope``: for subclasses
        that also remember it, e.g. the inbox)."""
        await self.dead_letters.send(record, reason, error, attempts, at or datetime.now(UTC))

    @contextmanager
    def span(self, record: IncomingRecord, envelope: Envelope) -> Iterator[None]:
        """The consumer span of handling ``record``, child of the producer's trace."""
        with span_from(
            headers_to_dict(record.headers),
            f"process {record.topic}",
            SpanKind.CONSUMER,
            {
                "messaging.system": "kafka",
                "messaging.consumer.group.name": self.group,
                "messaging.message.id": envelope.id,
                "messaging.destination.name": record.topic,
                "v2v.message.type": envelope.type,
            },
        ):
            yield
