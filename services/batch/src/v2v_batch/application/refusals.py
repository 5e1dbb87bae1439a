"""Refusals GMP keeps: a use refused at a step (an instrument out of service or overdue for
calibration; a material lot not released) is the control working, and its record must
survive the refusal of the act — whose transaction rolls back.

A port refusing such a use raises ``RecordedRefusal`` carrying how to record it; the HTTP
layer (adapters/http/refusals.py ``keeping_refusals``) records it in a transaction of its
own once the act's has rolled back, then answers the problem."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from v2v_runtime.errors import DomainError
from v2v_runtime.uow import UnitOfWork

Record = Callable[[UnitOfWork], Awaitable[None]]


class RecordedRefusal(DomainError):
    """A refused use (422 unless the refusal says otherwise) to be recorded by ``record``
    in a transaction of its own."""

    def __init__(self, refusal: DomainError, record: Record) -> None:
        super().__init__(refusal.code, refusal.detail, **refusal.extra)
        self.status = refusal.status
        self.title = refusal.title
        self.record = record
