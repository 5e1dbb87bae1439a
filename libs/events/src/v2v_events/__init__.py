"""vein2vein public contracts: CloudEvents envelope, versioned message types, topic catalog.

Depends on pydantic only, so integrators can install it on its own.
"""

from . import contracts
from .catalog import Service, all_topics, commands_topic, dead_letter_topic, events_topic
from .envelope import Envelope, EnvelopeError, KafkaRecord, from_kafka, to_kafka
from .registry import REGISTRY, Contract, Kind, MessageType, Registry, RegistryError

__all__ = [
    "REGISTRY",
    "Contract",
    "Envelope",
    "EnvelopeError",
    "KafkaRecord",
    "Kind",
    "MessageType",
    "Registry",
    "RegistryError",
    "Service",
    "all_topics",
    "commands_topic",
    "contracts",
    "dead_letter_topic",
    "events_topic",
    "from_kafka",
    "to_kafka",
]
