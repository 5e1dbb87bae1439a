"""The registry of every event and command type: name, schema version, model, owner, topic.

A type's wire name (CloudEvents ``type``) is ``org.vein2vein.<owner>.<name>``. Schema
versions evolve compatibly (fields are added with defaults, never removed or retyped);
readers upcast older data step by step to the current version before validating, and a
reader meeting a *newer* version than it knows validates it as its own, ignoring fields it
does not know. A breaking change is a new type name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .bounds import TEXT_MAX
from .catalog import Service, TopicKind, commands_topic, events_topic, seals_topic, source_of
from .envelope import Envelope

TYPE_PREFIX = "org.vein2vein"

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class Contract(BaseModel):
    """Base of every public message model."""

    # Unknown fields are ignored so an older reader accepts a newer compatible version.
    # Every string is bounded (fields narrow it further) and every number finite: what a
    # contract accepts, every consumer can store and compute with (see bounds.py).
    model_config = ConfigDict(
        frozen=True, extra="ignore", str_max_length=TEXT_MAX, allow_inf_nan=False
    )


C = TypeVar("C", bound=type[Contract])


class Kind(StrEnum):
    EVENT = "event"
    COMMAND = "command"


class RegistryError(LookupError):
    """A message type or version this registry cannot read."""


@dataclass
class MessageType:
    name: str
    version: int
    model: type[Contract]
    owner: Service
    kind: Kind
    description: str
    upcasters: dict[int, Upcaster] = field(default_factory=dict)
    # Events go to the owner's events topic, except the store seals (their own topic).
    channel: TopicKind = TopicKind.EVENTS
    # Commands: the services allowed to send them. The receiving consumer dead-letters a
    # command whose ce_source is another (unauthorized-source); Kafka ACLs are the first line.
    senders: tuple[Service, ...] = ()

    @property
    def sender_sources(self) -> frozenset[str]:
        return frozenset(source_of(s) for s in self.senders)

    @property
    def topic(self) -> str:
        if self.kind is Kind.COMMAND:
            return commands_topic(self.owner)
        if self.channel is TopicKind.SEALS:
            return seals_topic(self.owner)
        return events_topic(self.owner)

    @property
    def dataschema(self) -> str:
        return f"urn:vein2vein:schema:{self.name}:{self.version}"

    def upcast(self, data: dict[str, Any], from_version: int) -> dict[str, Any]:
        current = dict(data)
        for v in range(from_version, self.version):
            step = self.upcasters.get(v)
            if step is None:
                raise RegistryError(f"{self.name}: no upcaster from version {v} to {v + 1}")
            current = step(current)
        return current


class Registry:
    def __init__(self) -> None:
        self._by_name: dict[str, MessageType] = {}
        self._by_model: dict[type[Contract], MessageType] = {}

    def register(
        self,
        model: type[Contract],
        *,
        owner: Service,
        kind: Kind,
        name: str,
        version: int,
        channel: TopicKind = TopicKind.EVENTS,
        senders: tuple[Service, ...] = (),
    ) -> MessageType:
        full = f"{TYPE_PREFIX}.{owner.value}.{name}"
        if full in self._by_name:
            raise RegistryError(f"{full} registered twice")
        if version < 1:
            raise RegistryError(f"{full}: schema versions start at 1")
        doc = (model.__doc__ or "").strip()
        if kind is Kind.COMMAND and not senders:
            raise RegistryError(f"{full}: a command names the services that may send it")
        mt = MessageType(full, version, model, owner, kind, doc, channel=channel, senders=senders)
        self._by_name[full] = mt
        self._by_model[model] = mt
        return mt

    def event(
        self,
        owner: Service,
        name: str,
        version: int = 1,
        *,
        channel: TopicKind = TopicKind.EVENTS,
    ) -> Callable[[C], C]:
        def deco(model: C) -> C:
            self.register(
                model, owner=owner, kind=Kind.EVENT, name=name, version=version, channel=channel
            )
            return model

        return deco

    def command(
        self,
        owner: Service,
        name: str,
        version: int = 1,
        *,
        senders: tuple[Service, ...] = (Service.JOURNEY,),
    ) -> Callable[[C], C]:
        """A command to ``owner``; by default only the journey (the orchestrator) sends it."""

        def deco(model: C) -> C:
            self.register(
                model, owner=owner, kind=Kind.COMMAND, name=name, version=version, senders=senders
            )
            return model

        return deco

    def upcaster(self, model: type[Contract], from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register the step that turns ``from_version`` data into ``from_version + 1``."""

        def deco(fn: Upcaster) -> Upcaster:
            mt = self.for_model(model)
            if not 1 <= from_version < mt.version:
                raise RegistryError(f"{mt.name}: no version {from_version} to upcast from")
            mt.upcasters[from_version] = fn
            return fn

        return deco

    def get(self, name: str) -> MessageType:
        try:
            return self._by_name[name]
        except KeyError:
            raise RegistryError(f"unknown message type {name!r}") from None

    def knows(self, name: str) -> bool:
        return name in self._by_name

    def for_model(self, model: type[Contract]) -> MessageType:
        try:
            return self._by_model[model]
        except KeyError:
            raise RegistryError(f"{model.__name__} is not a registered contract") from None

    def __iter__(self) -> Iterator[MessageType]:
        return iter(sorted(self._by_name.values(), key=lambda m: m.name))

    def __len__(self) -> int:
        return len(self._by_name)

    def decode(self, name: str, schema_version: int, data: dict[str, Any]) -> Contract:
        """Upcast ``data`` from ``schema_version`` and validate it as the current model."""
        mt = self.get(name)
        if schema_version < 1:
            raise RegistryError(f"{name}: invalid schema version {schema_version}")
        if schema_version < mt.version:
            data = mt.upcast(data, schema_version)
        try:
            return mt.model.model_validate(data)
        except ValidationError as exc:
            raise RegistryError(f"{name} v{schema_version}: {exc}") from exc

    def decode_envelope(self, envelope: Envelope) -> Contract:
        return self.decode(envelope.type, envelope.schemaversion, envelope.data)

    def envelope(
        self,
        message: Contract,
        *,
        subject: str,
        source: str,
        id: str,
        time: datetime,
        correlationid: str | None = None,
        causationid: str | None = None,
        actor: str | None = None,
    ) -> Envelope:
        """Wrap a message; id and time are passed in (no hidden clock or id generator)."""
        mt = self.for_model(type(message))
        return Envelope(
            id=id,
            type=mt.name,
            source=source,
            time=time,
            subject=subject,
            dataschema=mt.dataschema,
            schemaversion=mt.version,
            correlationid=correlationid or id,
            causationid=causationid,
            actor=actor,
            data=message.model_dump(mode="json"),
        )


REGISTRY = Registry()
"""The registry of vein2vein's public contracts (filled by ``v2v_events.contracts``)."""
