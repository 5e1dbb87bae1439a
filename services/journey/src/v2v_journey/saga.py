"""Compensations, registered before each step and run in reverse on failure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio import workflow


class Compensations:
    def __init__(self) -> None:
        self._steps: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        self.done: list[str] = []

    def add(self, name: str, step: Callable[[], Awaitable[None]]) -> None:
        self._steps.append((name, step))

    def __bool__(self) -> bool:
        return bool(self._steps)

    async def run(self) -> list[str]:
        """Every registered step, newest first; a failing step is logged and the rest still
        run (each step is idempotent, so an operator may safely re-run it)."""
        while self._steps:
            name, step = self._steps.pop()
            try:
                await step()
                self.done.append(name)
            except Exception:
                workflow.logger.exception("compensation %s failed", name)
                self.done.append(f"{name} (failed)")
        return self.done
