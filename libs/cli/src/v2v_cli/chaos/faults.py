"""What the chaos run breaks and in which order: pure, and the same for the same seed."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from v2v_cli.stack.platform import JOURNEY_ROLES, SERVICE_ROLES, SERVICES


class FaultKind(StrEnum):
    API = "api"
    CONSUMER = "consumer"
    RELAY = "relay"
    WORKER = "worker"
    BRIDGE = "bridge"
    KAFKA = "kafka"
    TEMPORAL = "temporal"


TITLES: dict[FaultKind, str] = {
    FaultKind.API: "kill -9 a service's api",
    FaultKind.CONSUMER: "kill -9 a service's consumer",
    FaultKind.RELAY: "kill -9 a service's relay",
    FaultKind.WORKER: "kill -9 the journey worker",
    FaultKind.BRIDGE: "kill -9 the journey bridge",
    FaultKind.KAFKA: "Kafka broker killed and restarted",
    FaultKind.TEMPORAL: "Temporal server killed and restarted",
}
SERVERS = {FaultKind.KAFKA: "kafka", FaultKind.TEMPORAL: "temporal"}


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    target: str  # the process: "custody-api", "journey-worker", "kafka", "temporal"
    gap_s: float  # how long to let the cohort run before this fault (after the last one)


def targets(kind: FaultKind) -> list[str]:
    """Every process a fault of ``kind`` may hit."""
    if kind in SERVERS:
        return [SERVERS[kind]]
    if kind.value in JOURNEY_ROLES:
        return [f"journey-{kind.value}"]
    assert kind.value in SERVICE_ROLES
    return [f"{service}-{kind.value}" for service in SERVICES]


def kind_of(target: str) -> FaultKind:
    return FaultKind(target.rsplit("-", 1)[-1])


class Schedule:
    """The faults in order: first the ``minimum`` (every process once, or one fault of each
    kind); with ``every_process``, further rounds of every process for as long as the caller
    asks."""

    def __init__(self, seed: int, *, every_process: bool, gap_s: tuple[float, float]) -> None:
        self.seed = seed
        self.every_process = every_process
        self.gap_s = gap_s

    def minimum(self) -> list[Fault]:
        rng = self._rng(0)
        if self.every_process:
            return self._round(rng)
        chosen = [rng.choice(targets(kind)) for kind in FaultKind]
        rng.shuffle(chosen)
        return [Fault(kind_of(t), t, self._gap(rng)) for t in chosen]

    def __iter__(self) -> Iterator[Fault]:
        yield from self.minimum()
        if not self.every_process:
            return
        n = 1
        while True:
            yield from self._round(self._rng(n))
            n += 1

    def _rng(self, n: int) -> random.Random:
        return random.Random(f"{self.seed}/{n}")

    def _round(self, rng: random.Random) -> list[Fault]:
        every = [t for kind in FaultKind for t in targets(kind)]
        rng.shuffle(every)
        return [Fault(kind_of(t), t, self._gap(rng)) for t in every]

    def _gap(self, rng: random.Random) -> float:
        low, high = self.gap_s
        return round(rng.uniform(low, high), 1)
