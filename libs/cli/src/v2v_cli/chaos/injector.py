"""One fault at a time: kill -9 the process, start it again at once (as a supervisor
would), and time the recovery: until it answers /readyz, and until the work only it does
moved on (``evidence``)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from v2v_cli.chaos.chaos_platform import ChaosPlatform
from v2v_cli.chaos.evidence import Evidence
from v2v_cli.chaos.faults import Fault
from v2v_cli.journeys import CallStats
from v2v_cli.stack.process import kill_now, write_pid


@dataclass(frozen=True)
class FaultResult:
    fault: Fault
    at_s: float  # since the run started
    ready_s: float | None  # kill -> /readyz (or the server's probe) again; None: never
    working_s: float | None  # kill -> its work moved on; None: nothing moved in time
    retried_calls: int  # the driver's requests repeated meanwhile (what people would see)
    error: str = ""


class Injector:
    def __init__(
        self,
        platform: ChaosPlatform,
        evidence: Evidence,
        stats: CallStats,
        *,
        started: float,
        ready_within_s: float = 120.0,
        working_within_s: float = 180.0,
    ) -> None:
        self._platform = platform
        self._evidence = evidence
        self._stats = stats
        self._started = started
        self._ready_within = ready_within_s
        self._working_within = working_within_s

    async def inject(self, fault: Fault) -> FaultResult:
        comp = self._platform.process(fault.target)
        mark = await self._evidence.mark(fault.target)
        retries = sum(self._stats.retries.values())
        pid = comp.running_pid()
        killed = time.monotonic()
        at = killed - self._started
        if pid is None:
            return FaultResult(fault, at, None, None, 0, "was not running")
        await asyncio.to_thread(kill_now, pid)
        try:
            new_pid = await asyncio.to_thread(comp.start)
        except Exception as exc:
            return FaultResult(fault, at, None, None, 0, f"restart failed: {exc}")
        write_pid(comp.pid_file, new_pid)
        ready = await _first(comp.probe, self._ready_within)
        working = None
        if ready is not None:
            working = await _first(
                lambda: self._evidence.moved(fault.target, mark), self._working_within
            )
        return FaultResult(
            fault,
            at,
            None if ready is None else ready - killed,
            None if working is None else working - killed,
            sum(self._stats.retries.values()) - retries,
            "" if ready is not None else f"not ready within {self._ready_within:.0f} s",
        )


async def _first(check: Callable[[], Awaitable[bool]], within_s: float) -> float | None:
    """The time.monotonic() when ``check()`` first answered True, or None after ``within_s``."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # the process or the broker not answering yet
            if await check():
                return time.monotonic()
        await asyncio.sleep(0.25)
    return None
