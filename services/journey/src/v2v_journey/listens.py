"""The service events the journey listens to, declared once. The workflow waits for or
looks at only these (``test_listens`` proves it from the workflow's code), and the bridge
forwards exactly these, plus the enrolment that starts a journey."""

from __future__ import annotations

from v2v_events.contracts import batch, custody, exceptional_release, holds, logistics, qc
from v2v_events.registry import Contract

STARTS_JOURNEY = custody.PatientEnrolled

LISTENS_TO: tuple[type[Contract], ...] = (
    logistics.CollectionScheduled,
    logistics.CollectionUnschedulable,
    logistics.SchedulingDecided,
    logistics.ShipmentBooked,
    logistics.InfusionSlotBooked,
    logistics.LymphodepletionBooked,
    custody.CollectionRecorded,
    custody.UnitReceived,
    custody.InfusionRecorded,
    batch.BatchOpened,
    batch.StepRecorded,  # the batch's progress (status query)
    batch.MbrStepRecorded,
    batch.RemanufactureRefused,
    batch.LotProduced,
    batch.ManufacturingFailed,
    batch.LotRejected,  # before issue 16 (journeys waiting since)
    qc.PanelEvaluated,
    qc.LotReleased,
    qc.LotReleaseRejected,
    qc.RecoveryDecided,
    exceptional_release.LotExceptionallyReleased,
    holds.HoldPlaced,  # a released product held before infusion: bookings cancelled
    holds.HoldReleased,
)
