import pytest

from v2v_events import REGISTRY
from v2v_events.catalog import (
    CONSUMER_GROUPS,
    SEALED_SERVICES,
    TopicKind,
    all_topics,
    consumer_group,
    dead_letter_topic,
    seals_topic,
)
from v2v_events.contracts.store import seal_contract


def test_names_follow_the_rule_and_are_unique() -> None:
    names = [t.name for t in all_topics()]
    assert len(names) == len(set(names))
    for t in all_topics():
        assert t.name.startswith("v2v.")
        if t.kind is TopicKind.DEAD_LETTER:
            assert t.name.startswith("v2v.dlq.v2v.")
        else:
            assert t.name == f"v2v.{t.owner}.{t.kind.value}"


def test_every_consumer_group_has_a_dead_letter_topic() -> None:
    names = {t.name for t in all_topics()}
    for group in CONSUMER_GROUPS:
        assert dead_letter_topic(group) in names


def test_every_registered_type_goes_to_a_catalog_topic() -> None:
    names = {t.name for t in all_topics()}
    for mt in REGISTRY:
        assert mt.topic in names


def test_bad_group_purpose_is_refused() -> None:
    with pytest.raises(ValueError, match="purpose"):
        consumer_group("batch", "no spaces")


def test_every_service_with_an_event_store_has_a_compacted_seals_topic() -> None:
    seals = {t.name: t for t in all_topics() if t.kind is TopicKind.SEALS}
    assert set(seals) == {seals_topic(s) for s in SEALED_SERVICES}
    assert seals_topic("custody") == "v2v.custody.seals"
    for spec in seals.values():
        assert spec.config["cleanup.policy"] == "compact"
        assert spec.partitions == 1


def test_seal_contracts_go_to_the_seals_topics() -> None:
    for service in SEALED_SERVICES:
        mt = REGISTRY.for_model(seal_contract(service))
        assert (mt.name, mt.topic) == (
            f"org.vein2vein.{service.value}.store.sealed",
            seals_topic(service),
        )
    with pytest.raises(ValueError, match="no event store"):
        seal_contract("journey")
