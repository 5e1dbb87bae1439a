"""The topic catalog: every Kafka topic vein2vein owns, with its partition count.

Naming rule (documented for integrators in docs/integrators.md):

* ``v2v.<service>.events``   — integration events owned by ``<service>``; any party may read.
* ``v2v.<service>.commands`` — commands addressed to ``<service>``; only it consumes them.
* ``v2v.dlq.<group>``        — dead letters of consumer group ``<group>`` (itself named
  ``v2v.<service>.<purpose>``), with the error and the original headers.
* ``v2v.<service>.seals``    — the seals of ``<service>``'s event store, keyed by the service
  name on a compacted topic: the newest seal stays outside the database for
  ``v2v audit verify`` (a restored stale backup is consistent inside itself).

Every message but a seal is keyed by the chain-of-identity id, so one patient's messages keep their
order within a partition. Partition counts are the production defaults; raising them later
re-shuffles keys, so they are sized for 100x peak headroom up front.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

PREFIX = "v2v"


class Service(StrEnum):
    CUSTODY = "custody"
    LOGISTICS = "logistics"
    BATCH = "batch"
    QC = "qc"
    JOURNEY = "journey"


class TopicKind(StrEnum):
    EVENTS = "events"
    COMMANDS = "commands"
    DEAD_LETTER = "dlq"
    SEALS = "seals"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    kind: TopicKind
    owner: str
    partitions: int
    # Broker-side settings; the audit trail lives in the event stores, topics are transport,
    # but integrators replay events, so events topics are kept a long time.
    config: dict[str, str] = field(default_factory=dict)


EVENTS_PARTITIONS = 12
COMMANDS_PARTITIONS = 12
DLQ_PARTITIONS = 3
SEALS_PARTITIONS = 1  # one key (the service) per topic
_EVENTS_RETENTION_MS = str(365 * 24 * 3600 * 1000)
_COMMANDS_RETENTION_MS = str(30 * 24 * 3600 * 1000)
_DLQ_RETENTION_MS = "-1"  # dead letters are evidence: never dropped by the broker
# Compaction keeps the newest seal per key forever; hourly segments let the cleaner run
# often, so a reader from the beginning (the verifier, the sealer's fence) reads few seals.
_SEALS_CONFIG = {"cleanup.policy": "compact", "segment.ms": str(3600 * 1000)}
# The services with an event store (the journey's state lives in Temporal).
SEALED_SERVICES: tuple[Service, ...] = (
    Service.CUSTODY,
    Service.LOGISTICS,
    Service.BATCH,
    Service.QC,
)


def source_of(service: Service | str) -> str:
    """The CloudEvents ``source`` of everything ``service`` emits."""
    return f"/vein2vein/{service}"  # a StrEnum formats as its value


def events_topic(service: Service | str) -> str:
    return f"{PREFIX}.{Service(service).value}.events"


def commands_topic(service: Service | str) -> str:
    return f"{PREFIX}.{Service(service).value}.commands"


def seals_topic(service: Service | str) -> str:
    """Where ``service`` publishes the seals of its event store (compacted, key = service)."""
    return f"{PREFIX}.{Service(service).value}.seals"


def consumer_group(service: Service | str, purpose: str) -> str:
    """Consumer group ids follow ``v2v.<service>.<purpose>``."""
    if not purpose or not purpose.replace("-", "").isalnum():
        raise ValueError(f"consumer group purpose must be alphanumeric/dashes: {purpose!r}")
    return f"{PREFIX}.{Service(service).value}.{purpose}"


def dead_letter_topic(group: str) -> str:
    return f"{PREFIX}.dlq.{group}"


# The consumer groups each service runs. A group listed here gets its dead-letter topic.
CONSUMER_GROUPS: tuple[str, ...] = (
    consumer_group(Service.CUSTODY, "inbox"),
    consumer_group(Service.LOGISTICS, "inbox"),
    consumer_group(Service.BATCH, "inbox"),
    consumer_group(Service.QC, "inbox"),
    consumer_group(Service.JOURNEY, "bridge"),
)


def all_topics() -> list[TopicSpec]:
    """Every topic the platform needs, in a stable order."""
    specs: list[TopicSpec] = []
    for service in Service:
        if service is not Service.JOURNEY:
            specs.append(
                TopicSpec(
                    events_topic(service),
                    TopicKind.EVENTS,
                    service.value,
                    EVENTS_PARTITIONS,
                    {"retention.ms": _EVENTS_RETENTION_MS, "cleanup.policy": "delete"},
                )
            )
        specs.append(
            TopicSpec(
                commands_topic(service),
                TopicKind.COMMANDS,
                service.value,
                COMMANDS_PARTITIONS,
                {"retention.ms": _COMMANDS_RETENTION_MS, "cleanup.policy": "delete"},
            )
        )
    # The journey publishes events too (e.g. treatment-center notifications).
    specs.append(
        TopicSpec(
            events_topic(Service.JOURNEY),
            TopicKind.EVENTS,
            Service.JOURNEY.value,
            EVENTS_PARTITIONS,
            {"retention.ms": _EVENTS_RETENTION_MS, "cleanup.policy": "delete"},
        )
    )
    for service in SEALED_SERVICES:
        specs.append(
            TopicSpec(
                seals_topic(service),
                TopicKind.SEALS,
                service.value,
                SEALS_PARTITIONS,
                dict(_SEALS_CONFIG),
            )
        )
    for group in CONSUMER_GROUPS:
        owner = group.split(".")[1]
        specs.append(
            TopicSpec(
                dead_letter_topic(group),
                TopicKind.DEAD_LETTER,
                owner,
                DLQ_PARTITIONS,
                {"retention.ms": _DLQ_RETENTION_MS, "cleanup.policy": "delete"},
            )
        )
    return specs
