"""docs/operations.md, "Kafka principals and ACLs", held to the code: the ACL table lists
every topic and consumer group of the catalog with the principals that write and read it as
the services actually do (their subscriptions, the journey's commands), and the
kafka-acls.sh commands and the Strimzi KafkaUser example grant exactly what the table says.
A new topic, subscription or command type fails here until the operators' guide follows."""

from __future__ import annotations

import importlib
import itertools
import re
import shlex
from pathlib import Path

import pytest
import yaml

from v2v_events.catalog import (
    CONSUMER_GROUPS,
    SEALED_SERVICES,
    TopicKind,
    all_topics,
)
from v2v_events.registry import REGISTRY, Kind
from v2v_journey.worker import BRIDGED_TOPICS
from v2v_runtime.service import ServiceKit

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
SECTION = "## Kafka principals and ACLs"
DOMAIN_SERVICES = ("custody", "logistics", "batch", "qc")
NONE = "—"

Row = tuple[str, frozenset[str], frozenset[str]]  # kind, WRITE principals, READ principals
Grant = tuple[str, str, str, str]  # principal, operation, resource kind, name


def section() -> str:
    text = DOC.read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end != -1 else len(text)]


def names(cell: str) -> frozenset[str]:
    cell = cell.strip()
    return frozenset() if cell == NONE else frozenset(p.strip() for p in cell.split(","))


def documented_table() -> dict[str, Row]:
    rows: dict[str, Row] = {}
    for line in section().splitlines():
        m = re.fullmatch(r"\| `([^`]+)` \| (topic|group) \|([^|]*)\|([^|]*)\|", line.strip())
        if m:
            assert m[1] not in rows, f"{m[1]} is listed twice"
            rows[m[1]] = (m[2], names(m[3]), names(m[4]))
    return rows


def subscriptions() -> dict[str, set[str]]:
    """Topic -> the services whose consumers read it, from the services' own wiring."""
    readers: dict[str, set[str]] = {}
    for svc in DOMAIN_SERVICES:
        spec = importlib.import_module(f"v2v_{svc}.bootstrap").build()
        for topic in ServiceKit(spec).topics:
            readers.setdefault(topic, set()).add(svc)
    for topic in BRIDGED_TOPICS:
        readers.setdefault(topic, set()).add("journey")
    return readers


def expected_table() -> dict[str, Row]:
    readers = subscriptions()
    # Only the journey sends commands; a commands topic no command type is addressed to
    # gets no grant at all.
    addressed = {t.topic for t in REGISTRY if t.kind is Kind.COMMAND}
    rows: dict[str, Row] = {}
    for spec in all_topics():
        owner = {spec.owner}
        if spec.kind is TopicKind.COMMANDS:
            writers = {"journey"} if spec.name in addressed else set()
            read = readers.get(spec.name, set()) if writers else set()
        elif spec.kind is TopicKind.SEALS:
            writers, read = owner, owner | {"auditor"}  # the sealer's fence; v2v audit verify
        elif spec.kind is TopicKind.DEAD_LETTER:
            writers, read = owner, {"operator"}
        else:
            writers, read = owner, readers.get(spec.name, set())
        rows[spec.name] = ("topic", frozenset(writers), frozenset(read))
    for group in CONSUMER_GROUPS:
        rows[group] = ("group", frozenset(), frozenset({group.split(".")[1]}))
    return rows


def table_grants() -> set[Grant]:
    grants: set[Grant] = set()
    for name, (kind, writers, readers) in documented_table().items():
        grants |= {(p, "WRITE", kind, name) for p in writers}
        grants |= {(p, "READ", kind, name) for p in readers}
    return grants


def command_grants() -> tuple[set[Grant], set[Grant]]:
    """(literal, prefixed) grants of the `acl <name> <operation> <resources...>` lines."""
    literal: set[Grant] = set()
    prefixed: set[Grant] = set()
    for line in section().splitlines():
        if not line.startswith("acl "):
            continue
        _, principal, operation, *args = shlex.split(line)
        target = prefixed if "prefixed" in args else literal
        for flag, value in itertools.pairwise(args):
            if flag in ("--topic", "--group"):
                target.add((principal, operation.upper(), flag[2:], value))
    return literal, prefixed


@pytest.mark.requirement("21CFR11.10(k)(2)")
def test_the_table_lists_every_topic_and_group_of_the_catalog() -> None:
    documented = documented_table()
    catalog = {spec.name for spec in all_topics()} | set(CONSUMER_GROUPS)
    assert set(documented) == catalog
    assert len(catalog) == len(all_topics()) + len(CONSUMER_GROUPS)  # no group named as a topic


@pytest.mark.requirement("21CFR11.10(h)")
def test_the_table_grants_what_the_services_do() -> None:
    documented, expected = documented_table(), expected_table()
    wrong = {
        name: (documented[name], row) for name, row in expected.items() if documented[name] != row
    }
    assert not wrong, f"documented vs. the code: {wrong}"
    # Every sealed service reads back its own seals; only the journey writes commands.
    for svc in SEALED_SERVICES:
        assert svc.value in documented[f"v2v.{svc.value}.seals"][2]
    assert {p for n, (_, w, _) in documented.items() if ".commands" in n for p in w} == {"journey"}


@pytest.mark.requirement("21CFR11.10(h)")
def test_the_kafka_acls_commands_grant_exactly_the_table() -> None:
    literal, prefixed = command_grants()
    wanted = table_grants()
    missing = {
        g
        for g in wanted
        if g not in literal
        and not any(
            (p, op, kind) == g[:3] and g[3].startswith(prefix) for p, op, kind, prefix in prefixed
        )
    }
    assert not missing, f"in the table, not granted by the commands: {sorted(missing)}"
    assert literal <= wanted, f"granted, not in the table: {sorted(literal - wanted)}"
    assert {p for p, *_ in prefixed} == {"operator", "provisioner"}
    assert ("provisioner", "CREATE", "topic", "v2v.") in prefixed


def test_the_strimzi_example_grants_what_the_table_gives_its_service() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", section(), re.S)
    (user,) = [doc for doc in map(yaml.safe_load, blocks) if doc.get("kind") == "KafkaUser"]
    principal = user["metadata"]["name"].removeprefix("vein2vein-")
    grants = {
        (principal, op.upper(), acl["resource"]["type"], acl["resource"]["name"])
        for acl in user["spec"]["authorization"]["acls"]
        for op in acl["operations"]
    }
    assert all(
        acl["resource"]["patternType"] == "literal" for acl in user["spec"]["authorization"]["acls"]
    )
    assert grants == {g for g in table_grants() if g[0] == principal}


def test_the_values_example_gives_each_service_its_principal() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", section(), re.S)
    values = yaml.safe_load(blocks[0])
    assert values["kafka"]["sasl"]["username"] == "vein2vein-provisioner"
    principals = {f"vein2vein-{svc}" for svc in (*DOMAIN_SERVICES, "journey")}
    for svc, settings in values["services"].items():
        sasl = settings["kafka"]["sasl"]
        assert sasl == {"existingSecret": f"vein2vein-{svc}", "username": f"vein2vein-{svc}"}
        principals.discard(sasl["username"])
    assert not principals, f"no principal in the example for {principals}"
