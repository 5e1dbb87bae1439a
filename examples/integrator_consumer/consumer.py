"""A minimal vein2vein integrator: read the public events topics, check, validate, de-duplicate.

Needs aiokafka, jsonschema and the JSON Schemas written by ``./v2v schemas export DIR``;
nothing else from the vein2vein repository. See README.md next to this file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sqlite3
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError
from jsonschema import Draft202012Validator
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

TOPICS = [
    "v2v.custody.events",
    "v2v.logistics.events",
    "v2v.batch.events",
    "v2v.qc.events",
    "v2v.journey.events",
]
REQUIRED_HEADERS = ("ce_id", "ce_type", "ce_subject", "ce_time", "content-type")


class Invalid(Exception):
    """A record that is not a valid vein2vein event: reported and skipped, never fatal."""


def load_validators(directory: Path) -> dict[str, Validator]:
    """One validator per message type in index.json, for the dialect its schema declares."""
    validators: dict[str, Validator] = {}
    for entry in json.loads((directory / "index.json").read_text()):
        schema = json.loads((directory / entry["schema"]).read_text())
        cls = validator_for(schema, default=Draft202012Validator)
        cls.check_schema(schema)
        validators[entry["type"]] = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return validators


class Store:
    """The ce_ids handled so far: the effect (one row per event) and the de-duplication in one
    transaction. In memory by default; with --state FILE it survives restarts and new groups.
    """

    def __init__(self, path: Path | None) -> None:
        self.db = sqlite3.connect(str(path) if path else ":memory:")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS handled"
            " (ce_id TEXT PRIMARY KEY, coi TEXT NOT NULL, type TEXT NOT NULL, time TEXT NOT NULL)"
        )

    def add(self, ce_id: str, coi: str, ce_type: str, ce_time: str) -> bool:
        """False when this ce_id was handled before (at-least-once delivery: a redelivery)."""
        with self.db:  # one transaction: a real integrator writes its own effects here too
            cur = self.db.execute(
                "INSERT OR IGNORE INTO handled VALUES (?, ?, ?, ?)", (ce_id, coi, ce_type, ce_time)
            )
        return cur.rowcount == 1


def decode(record: ConsumerRecord[bytes, bytes]) -> tuple[dict[str, str], dict[str, Any]]:
    """CloudEvents binary mode: attributes in ce_* headers, JSON data in the value."""
    try:
        headers = {k: v.decode() for k, v in record.headers if v is not None}
    except UnicodeDecodeError as exc:
        raise Invalid("a header is not UTF-8") from exc
    if missing := [h for h in REQUIRED_HEADERS if h not in headers]:
        raise Invalid(f"missing headers {', '.join(missing)}")
    if headers["content-type"].split(";")[0].strip() != "application/json":
        raise Invalid(f"content-type {headers['content-type']!r}")
    if record.key is None or record.key.decode(errors="replace") != headers["ce_subject"]:
        raise Invalid("record key differs from ce_subject (the chain-of-identity id)")
    try:
        datetime.fromisoformat(headers["ce_time"])
        data = json.loads(record.value or b"")
    except ValueError as exc:  # also json.JSONDecodeError and UnicodeDecodeError
        raise Invalid(f"bad ce_time or value: {exc}") from exc
    if not isinstance(data, dict):
        raise Invalid("data is not a JSON object")
    return headers, data


def report(what: str, record: ConsumerRecord[bytes, bytes], detail: str = "") -> None:
    where = f"{record.topic}[{record.partition}]@{record.offset}"
    print(f"{what:<9} {where} {detail}".rstrip(), file=sys.stderr, flush=True)


def handle(
    record: ConsumerRecord[bytes, bytes], validators: dict[str, Validator], store: Store
) -> str:
    try:
        headers, data = decode(record)
    except Invalid as exc:
        report("invalid", record, str(exc))
        return "invalid"
    ce_id, ce_type, coi = headers["ce_id"], headers["ce_type"], headers["ce_subject"]
    validator = validators.get(ce_type)
    if validator is None:  # a type newer than our schemas: forward compatible, skip it
        report("unknown", record, f"type {ce_type} ce_id={ce_id}")
        return "unknown"
    # Any schema version validates against the schema we have: versions only add optional
    # fields, and fields we do not know are allowed (ignored).
    errors = list(validator.iter_errors(data))
    if errors:
        detail = "; ".join(f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)
        report("invalid", record, f"{ce_type} ce_id={ce_id}: {detail}")
        return "invalid"
    if not store.add(ce_id, coi, ce_type, headers["ce_time"]):
        report("duplicate", record, f"ce_id={ce_id} already handled")
        return "duplicate"
    version = headers.get("ce_schemaversion", "1")
    print(f"{coi}  {ce_type} v{version}  {headers['ce_time']}", flush=True)
    return "handled"


async def run(args: argparse.Namespace) -> dict[str, int]:
    validators = load_validators(args.schemas)
    store = Store(args.state)
    consumer = AIOKafkaConsumer(
        *args.topics,
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        enable_auto_commit=False,  # commit only what has been handled
        auto_offset_reset="earliest",  # a new group reads the whole retained history
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    counts = {"handled": 0, "duplicate": 0, "unknown": 0, "invalid": 0}
    seen, last_activity, assigned = 0, time.monotonic(), False
    await consumer.start()
    try:
        while not stop.is_set():
            left = args.max_messages - seen if args.max_messages else 100
            batches = await consumer.getmany(timeout_ms=500, max_records=min(left, 100))
            if not assigned and consumer.assignment():
                assigned, last_activity = True, time.monotonic()  # idle time counts from here
            offsets: dict[TopicPartition, int] = {}
            for tp, records in batches.items():
                for record in records:
                    counts[handle(record, validators, store)] += 1
                    offsets[tp] = record.offset + 1
                    seen += 1
            if offsets:
                last_activity = time.monotonic()
                try:
                    await consumer.commit(offsets)
                except CommitFailedError as exc:  # rebalanced: redelivered, then de-duplicated
                    print(f"commit failed: {exc}", file=sys.stderr, flush=True)
            if args.max_messages and seen >= args.max_messages:
                break
            if args.idle_exit and time.monotonic() - last_activity >= args.idle_exit:
                break
    finally:
        await consumer.stop()
        store.db.close()
    return counts


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bootstrap", default="127.0.0.1:9092", help="Kafka bootstrap servers")
    p.add_argument("--group", required=True, help="your consumer group id")
    p.add_argument("--schemas", type=Path, required=True, help="dir of `v2v schemas export`")
    p.add_argument("--topics", nargs="+", default=TOPICS, help="topics to read")
    p.add_argument("--max-messages", type=int, default=0, help="stop after N records")
    p.add_argument("--idle-exit", type=float, default=0, help="stop after S idle seconds")
    p.add_argument("--state", type=Path, help="SQLite file of handled events (dedup store)")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    counts = asyncio.run(run(p.parse_args()))
    print(" ".join(f"{k}={v}" for k, v in counts.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
