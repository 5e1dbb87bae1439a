"""The journey's commands on the wire: from the journey's source (the one every command
allows), naming the journey's system identity as their actor, with a stable id per
activity attempt."""

from __future__ import annotations

from datetime import date

from temporalio.testing import ActivityEnvironment

from v2v_events import REGISTRY
from v2v_events.catalog import Service, source_of
from v2v_events.contracts.logistics import ScheduleCollection
from v2v_events.envelope import from_kafka
from v2v_journey.activities import JourneyActivities
from v2v_journey.model import JOURNEY_ACTOR
from v2v_runtime.testing import RecordingPublisher

COI = "CHA1B2C26000001"


async def test_a_command_is_the_journeys_own_and_may_be_sent_by_it() -> None:
    publisher = RecordingPublisher()
    activities = JourneyActivities(publisher)
    cmd = ScheduleCollection(
        coi=COI,
        apheresis_center="apheresis-center-1",
        manufacturing_site="manufacturing-site-1",
        earliest_date=date(2026, 12, 1),
        actor=JOURNEY_ACTOR,
    )
    env = ActivityEnvironment()
    first = await env.run(activities.schedule_collection, cmd)
    again = await env.run(activities.schedule_collection, cmd)  # a retried attempt
    assert first == again  # the same message id: the receiving inbox applies it once
    [(topic, key, value, headers), _] = publisher.sent
    sent = from_kafka(key, value, headers)
    assert topic == "v2v.logistics.commands"
    assert sent.source == source_of(Service.JOURNEY)
    assert sent.source in REGISTRY.for_model(ScheduleCollection).sender_sources
    assert sent.actor == "system:system-journey" == JOURNEY_ACTOR.user_id
    assert REGISTRY.decode_envelope(sent) == cmd
