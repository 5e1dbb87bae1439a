"""What the journey workflow takes, receives and shows: pure data, safe in the sandbox."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from temporalio.common import SearchAttributeKey

from v2v_events.contracts.common import Actor

# The journey acts as a system identity, over Kafka only (never over HTTP): the machine
# client system-journey of the identity provider, as every record names it.
JOURNEY_ACTOR = Actor(user_id="system:system-journey", role="system-journey")
TASK_QUEUE = "v2v-journey"
WORKFLOW_NAME = "Journey"

SA_COI = SearchAttributeKey.for_keyword("CoI")
SA_STAGE = SearchAttributeKey.for_keyword("JourneyStage")
SA_THERAPY = SearchAttributeKey.for_keyword("Therapy")
SA_SITE = SearchAttributeKey.for_keyword("Site")
SA_STATUS = SearchAttributeKey.for_keyword("JourneyStatus")


def workflow_id(coi: str) -> str:
    return f"journey-{coi}"


class Stage(StrEnum):
    ENROLLED = "enrolled"
    SCHEDULING = "scheduling"
    AWAITING_SLOT = "awaiting-slot"  # no manufacturing slot now: asks again, people may decide
    COLLECTION = "collection"
    INBOUND_SHIPMENT = "inbound-shipment"
    MANUFACTURING = "manufacturing"
    QC_TESTING = "qc-testing"
    QA_RELEASE = "qa-release"
    OUTBOUND_SHIPMENT = "outbound-shipment"
    PRODUCT_HELD = "product-held"  # released, then held: bookings cancelled, QA decides
    INFUSION = "infusion"
    COMPENSATING = "compensating"
    AWAITING_DECISION = "awaiting-decision"  # people decide how to go on; the journey waits
    DONE = "done"


class Status(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JourneyPolicy(BaseModel):
    """Deadlines and bounds of one product's journey (versioned configuration).

    Each deadline counts from the event that starts the wait, noted beside it.
    """

    model_config = ConfigDict(frozen=True)

    policy_id: str = "default"
    version: int = 1
    command_reply: timedelta = Field(timedelta(hours=1), description="a service answers a command")
    collection_due: timedelta = Field(timedelta(days=2), description="after the collection date")
    fresh_window: timedelta = Field(timedelta(hours=30), description="collection end -> receipt")
    manufacturing_due: timedelta = Field(timedelta(days=14), description="batch opened -> lot")
    qc_due: timedelta = Field(timedelta(days=16), description="lot -> panel evaluated")
    release_due: timedelta = Field(timedelta(days=3), description="in spec -> QA decision")
    delivery_due: timedelta = Field(timedelta(days=5), description="release -> receipt at TC")
    infusion_due: timedelta = Field(timedelta(days=21), description="receipt at TC -> infusion")
    decision_due: timedelta = Field(
        timedelta(days=1),
        description="a lot failed -> people's recovery decision; each time it passes the "
        "journey notifies again (it never decides)",
    )
    slot_retry_every: timedelta = Field(
        timedelta(hours=6),
        gt=timedelta(0),
        description="no collection could be scheduled -> ask logistics again this often, "
        "until a slot is booked or a coordinator decides",
    )
    slot_wait_due: timedelta = Field(
        timedelta(days=3),
        gt=timedelta(0),
        description="no collection could be scheduled -> notify again, asking coordinators to "
        "decide; again each time it passes (the journey keeps asking, it never gives up)",
    )
    lymphodepletion_gap_days: int = Field(
        3,
        ge=1,
        le=30,
        description="the minimum days from the start of lymphodepletion to infusion "
        "(conditioning on days -5..-3): the infusion slot is booked at least this long "
        "after the lymphodepletion it follows; both are booked only after QA's release",
    )
    max_manufacturing_attempts: int = Field(3, ge=1)
    max_collection_attempts: int = Field(2, ge=1)


class JourneyInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    coi: str
    therapy: str
    product_code: str
    treatment_center: str
    apheresis_center: str
    manufacturing_site: str
    patient_weight_kg: float
    earliest_collection: date
    policy: JourneyPolicy = JourneyPolicy()


class JourneySignal(BaseModel):
    """One service event as the bridge hands it to the workflow."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    type: str
    time: datetime
    data: dict[str, Any]


class HistoryEntry(BaseModel):
    at: datetime
    stage: Stage
    note: str


class JourneyView(BaseModel):
    """The answer to the ``status`` query: what operators see."""

    coi: str
    stage: Stage
    status: Status
    outcome: str | None = None
    collection_attempt: int
    manufacturing_attempt: int
    deadlines: dict[str, datetime]
    current: dict[str, str]
    history: list[HistoryEntry]
