"""JSON Schema export: one file per message type and version, for integrators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .envelope import Envelope
from .registry import REGISTRY, Registry


def schema_for(name: str, registry: Registry = REGISTRY) -> dict[str, Any]:
    mt = registry.get(name)
    schema = mt.model.model_json_schema(mode="serialization")
    schema["$id"] = mt.dataschema
    schema["title"] = mt.name
    schema["x-v2v-schema-version"] = mt.version
    schema["x-v2v-kind"] = mt.kind.value
    schema["x-v2v-owner"] = mt.owner.value
    schema["x-v2v-topic"] = mt.topic
    if mt.description:
        schema["description"] = mt.description
    return schema


def export(directory: Path, registry: Registry = REGISTRY) -> list[Path]:
    """Write ``<type>.v<version>.schema.json`` per type plus the envelope and an index."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    index: list[dict[str, Any]] = []
    for mt in registry:
        path = directory / f"{mt.name}.v{mt.version}.schema.json"
        path.write_text(json.dumps(schema_for(mt.name, registry), indent=2, sort_keys=True) + "\n")
        written.append(path)
        index.append(
            {
                "type": mt.name,
                "version": mt.version,
                "kind": mt.kind.value,
                "owner": mt.owner.value,
                "topic": mt.topic,
                "schema": path.name,
            }
        )
    env = directory / "cloudevents-envelope.schema.json"
    env.write_text(json.dumps(Envelope.model_json_schema(), indent=2, sort_keys=True) + "\n")
    written.append(env)
    idx = directory / "index.json"
    idx.write_text(json.dumps(index, indent=2) + "\n")
    written.append(idx)
    return written
