"""The integrator example (examples/integrator_consumer) and the integrator guide.

The example runs as its own process against a real broker, on fresh topics of this test, and
is judged only by what it prints and by the offsets its consumer group committed. It must
need nothing from this repository but the exported JSON Schemas.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import json
import re
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from v2v_events import REGISTRY, to_kafka
from v2v_events.contracts.batch import LotProduced
from v2v_events.contracts.common import Actor
from v2v_events.contracts.journey import NotificationReason
from v2v_events.envelope import KafkaRecord
from v2v_events.registry import Contract, Kind
from v2v_events.schemas import export

from .support import caught_up, create_topics, enrolled, eventually, produce_raw

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "integrator_consumer"
GUIDE = ROOT / "docs" / "integrators.md"
ENROLLED = "org.vein2vein.custody.patient.enrolled"
PRODUCED = "org.vein2vein.batch.lot.produced"
UNKNOWN = "org.vein2vein.custody.patient.teleported"  # a type from the future


# --- no stack needed ----------------------------------------------------------------------


def test_example_imports_only_the_stdlib_aiokafka_and_jsonschema() -> None:
    tree = ast.parse((EXAMPLE / "consumer.py").read_text())
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    roots = {name.split(".")[0] for name in imported} - {"__future__"}
    assert roots - sys.stdlib_module_names == {"aiokafka", "jsonschema"}
    requirements = (EXAMPLE / "requirements.txt").read_text()
    for package in ("aiokafka", "jsonschema"):
        assert re.search(rf"^{package}>=[\d.]+,<[\d.]+$", requirements, re.M), package


@pytest.mark.requirement("21CFR11.10(k)(2)")
def test_guide_catalog_lists_every_event_type_on_its_topic() -> None:
    text = GUIDE.read_text()
    section = text.split("## Event catalog", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(org\.vein2vein\.[^`]+)` \| `([^`]+)` \|", section, re.M))
    events = {mt.name: mt.topic for mt in REGISTRY if mt.kind is Kind.EVENT}
    assert rows == events
    # and what a treatment center does on each notification reason
    for reason in NotificationReason:
        assert f"| `{reason.value}` |" in text, reason


# --- the example on a real broker ---------------------------------------------------------


@dataclass
class Published:
    topics: list[str]
    records: int
    cois: dict[str, str]  # role -> CoI
    ids: dict[str, str]  # role -> ce_id


def _lot(coi: str) -> LotProduced:
    return LotProduced(
        coi=coi,
        batch_id="B-IT-1",
        lot_id="L-IT-1",
        bag_ids=["BAG-1", "BAG-2"],
        total_viable_cells=2.1e8,
        viability_pct=91.5,
        retained_aliquots_remaining=2,
        manufacturing_site="site-it",
        produced_at=datetime(2026, 12, 10, 9, 0, tzinfo=UTC),
        expires_at=datetime(2027, 12, 10, 9, 0, tzinfo=UTC),
        actor=Actor(user_id="u-it", role="operator"),
    )


def _record(message: Contract, coi: str) -> KafkaRecord:
    env = REGISTRY.envelope(
        message, subject=coi, source="/it", id=str(uuid.uuid4()), time=datetime.now(UTC)
    )
    return to_kafka(env)


def _variant(
    rec: KafkaRecord, *, key: bytes | None = None, data: dict[str, object] | None = None, **h: str
) -> KafkaRecord:
    """The same record with another key, value or headers (ce_id always new)."""
    headers = dict(rec.headers) | {"ce_id": str(uuid.uuid4()).encode()}
    headers |= {name: v.encode() for name, v in h.items()}
    value = json.dumps(data).encode() if data is not None else rec.value
    return KafkaRecord(key if key is not None else rec.key, value, tuple(headers.items()))


async def _publish(bootstrap: str) -> Published:
    tag = uuid.uuid4().hex[:8]
    custody, batch = f"v2v.it-{tag}-custody.events", f"v2v.it-{tag}-batch.events"
    await create_topics(bootstrap, custody, batch)
    seq = int(tag[:5], 16) % 900000
    cois = {
        r: f"CHA1B2C26{seq + n:06d}"
        for n, r in enumerate(
            ("enrolled", "produced", "invalid", "unknown", "newer", "wrong-key"), start=1
        )
    }
    enrolled_rec = _record(enrolled(cois["enrolled"]), cois["enrolled"])
    produced_rec = _record(_lot(cois["produced"]), cois["produced"])
    bad_lot = _lot(cois["invalid"]).model_dump(mode="json") | {"viability_pct": 150, "bag_ids": []}
    invalid_rec = _variant(_record(_lot(cois["invalid"]), cois["invalid"]), data=bad_lot)
    unknown_rec = _variant(_record(enrolled(cois["unknown"]), cois["unknown"]), ce_type=UNKNOWN)
    newer_data = enrolled(cois["newer"]).model_dump(mode="json") | {"added_in_v2": "ignored"}
    newer_rec = _variant(
        _record(enrolled(cois["newer"]), cois["newer"]), data=newer_data, ce_schemaversion="2"
    )
    wrong_key_rec = _variant(
        _record(enrolled(cois["wrong-key"]), cois["wrong-key"]), key=cois["enrolled"].encode()
    )
    plan = [
        (custody, enrolled_rec),
        (custody, enrolled_rec),  # at-least-once: the same message (same ce_id) again
        (custody, unknown_rec),
        (custody, newer_rec),
        (custody, wrong_key_rec),
        (batch, produced_rec),
        (batch, invalid_rec),
    ]
    for topic, rec in plan:
        await produce_raw(bootstrap, topic, rec.key, rec.value, list(rec.headers))
    ids = {
        role: rec.header("ce_id") or ""
        for role, rec in (
            ("enrolled", enrolled_rec),
            ("invalid", invalid_rec),
            ("unknown", unknown_rec),
            ("wrong-key", wrong_key_rec),
        )
    }
    return Published([custody, batch], len(plan), cois, ids)


async def _run_example(*args: str, cwd: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE / "consumer.py"),
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=180)
    except TimeoutError:
        proc.kill()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.integration
async def test_example_consumer_validates_dedupes_and_commits(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    schemas = tmp_path / "schemas"
    export(schemas)
    pub = await _publish(kafka_bootstrap)
    group = f"it-integrator-{uuid.uuid4().hex[:8]}"
    state = tmp_path / "handled.sqlite"
    common = ["--bootstrap", kafka_bootstrap, "--schemas", str(schemas), "--state", str(state)]

    code, out, err = await _run_example(
        *common, "--group", group, "--topics", *pub.topics, "--idle-exit", "5", cwd=tmp_path
    )
    log = f"stdout:\n{out}\nstderr:\n{err}"
    assert code == 0, log
    # one line per valid event, each exactly once: the duplicate was skipped
    printed = sorted(tuple(line.split()[:3]) for line in out.splitlines())
    assert printed == sorted(
        [
            (pub.cois["enrolled"], ENROLLED, "v1"),
            (pub.cois["newer"], ENROLLED, "v2"),  # a newer version: unknown field ignored
            (pub.cois["produced"], PRODUCED, "v1"),
        ]
    ), log
    reports = err.splitlines()
    duplicates = [r for r in reports if r.startswith("duplicate")]
    assert len(duplicates) == 1 and f"ce_id={pub.ids['enrolled']} " in duplicates[0], log
    unknown = [r for r in reports if r.startswith("unknown")]
    assert len(unknown) == 1 and UNKNOWN in unknown[0], log
    invalid = [r for r in reports if r.startswith("invalid")]
    assert len(invalid) == 2, log
    schema_error = next(r for r in invalid if pub.ids["invalid"] in r)
    assert "/viability_pct" in schema_error and "/bag_ids" in schema_error, log
    assert any("key differs from ce_subject" in r for r in invalid), log
    assert reports[-1] == "handled=3 duplicate=1 unknown=1 invalid=2", log

    # offsets were committed, manually, up to the end of every partition
    for topic in pub.topics:
        probe = functools.partial(caught_up, kafka_bootstrap, group, topic)
        assert await eventually(probe, bool), topic

    # a new group re-reads everything; the SQLite store knows every handled ce_id
    code, out, err = await _run_example(
        *common,
        "--group",
        f"{group}-again",
        "--topics",
        *pub.topics,
        "--max-messages",
        str(pub.records),
        cwd=tmp_path,
    )
    assert code == 0, err
    assert out == "", out
    assert err.splitlines()[-1] == "handled=0 duplicate=4 unknown=1 invalid=2", err
