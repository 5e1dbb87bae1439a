"""Alert trends of environmental monitoring (EU GMP Annex 1: adverse trends are
investigated even below the action limit): a result above its alert limit (alert or action)
completes a trend when the consecutive samples of its room and sample type ending with it —
as many as its rule's ``samples`` — hold at least ``alerts`` such results.

Computed whenever results are read, from the room's samples in the order they were taken
(a plate read days later still takes its place), each under the rule recorded with it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .em_limits import EXCEEDS_ALERT, Level, TrendRule


@dataclass(frozen=True)
class Sample:
    """One result of a room and sample type, in the order samples were taken."""

    result_id: str
    level: Level
    rule: TrendRule


def alert_trends(series: Sequence[Sample]) -> set[str]:
    """The ids of the results of ``series`` (consecutive samples, oldest first) that
    complete an alert trend."""
    flagged: set[str] = set()
    for i, sample in enumerate(series):
        if sample.level not in EXCEEDS_ALERT:
            continue
        window = series[max(0, i - sample.rule.samples + 1) : i + 1]
        if sum(1 for s in window if s.level in EXCEEDS_ALERT) >= sample.rule.alerts:
            flagged.add(sample.result_id)
    return flagged


def trending_now(series: Sequence[Sample], rule: TrendRule) -> tuple[int, bool]:
    """Of the newest ``rule.samples`` of ``series``: how many exceed the alert limit, and
    whether that makes a trend."""
    recent = series[-rule.samples :]
    alerts = sum(1 for s in recent if s.level in EXCEEDS_ALERT)
    return alerts, alerts >= rule.alerts
