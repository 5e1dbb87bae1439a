"""The HTTP API of executing a batch from its MBR: perform a step (signed), correct a value
(signed, with a reason), QA's disposition of an exception (signed), the review by
exception (signed), the executed record as a PDF. Verification of a step is the batch API's
verification route."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Response

from v2v_runtime.authz import Caller, Roles, allowed
from v2v_runtime.http_deps import NewUow, SigningGate
from v2v_runtime.signatures.model import Meaning
from v2v_runtime.uow import UnitOfWork
from v2v_runtime.windows import ReportedTimeWindow

from ...application.correct_entry import correct_entry
from ...application.disposition_exception import disposition_exception
from ...application.execution_record import review_view
from ...application.execution_views import ExceptionView, ExecutedStep, ReviewView
from ...application.perform_step import perform_step
from ...application.record_document import record_document, title_block
from ...application.review_record import review_record
from ...application.step_gates import StepGates
from ...domain.entries import StepEntry
from ..db import queries
from ..pdf.record_pdf import Generated, render_record_pdf
from .execution_reads import batch_signing, batch_site, executed, execution_of
from .mbr_schemas import CorrectionBody, DispositionBody, PerformBody, Signed
from .refusals import keeping_refusals
from .routes import Manufacturing, Reader
from .signing import PERFORMERS

QualityUnit = Annotated[Caller, allowed(Roles.QA_REVIEWER)]
QA = (Roles.QA_REVIEWER,)
PDF = "application/pdf"


async def _step(uow: UnitOfWork, batch_id: str, step: str, zone: str) -> ExecutedStep:
    view = await execution_of(uow, batch_id, zone)
    return next(s for s in view.steps if s.step_id == step)


def build_execution_router(reported_times: ReportedTimeWindow, gates: StepGates) -> APIRouter:
    router = APIRouter(tags=["batch execution"])

    @router.post("/batches/{batch_id}/steps/{step}", status_code=201, response_model=ExecutedStep)
    async def perform(
        batch_id: str,
        step: str,
        body: PerformBody,
        caller: Manufacturing,
        uow: NewUow,
        signing: SigningGate,
    ) -> ExecutedStep:
        """Perform the next step of the batch's MBR, signed by who performed it (meaning
        performed; 428 with the content first). Values are checked against their
        parameters (422 naming the field); a critical value out of limits or a hold time
        exceeded is recorded as an exception and QC opens a deviation for it."""
        entry = StepEntry(
            step_id=step,
            room=body.room,
            started_at=body.started_at,
            ended_at=body.ended_at,
            values={n: v.entry() for n, v in body.values.items()},
            materials=tuple(m.used() for m in body.materials),
            equipment=tuple(e.used() for e in body.equipment),
            comment=body.comment,
        )
        async with keeping_refusals(uow), uow:  # a refused scan or use is kept
            sign = await batch_signing(
                uow, signing, caller, batch_id, Meaning.PERFORMED, body.signature, PERFORMERS
            )
            await perform_step(uow, batch_id, entry, reported_times, sign, gates, caller.actor)
            await sign.record()
            return await _step(uow, batch_id, step, signing.settings.time_zone)

    @router.post(
        "/batches/{batch_id}/steps/{step}/corrections", status_code=201, response_model=ExecutedStep
    )
    async def correct(
        batch_id: str,
        step: str,
        body: CorrectionBody,
        caller: Manufacturing,
        uow: NewUow,
        signing: SigningGate,
    ) -> ExecutedStep:
        """Correct a value of a performed step: the old value is kept and shown, the reason
        is required, the person correcting signs (meaning performed). A verified step is
        verified again; a critical value corrected out of limits raises an exception."""
        async with uow:
            sign = await batch_signing(
                uow, signing, caller, batch_id, Meaning.PERFORMED, body.signature, PERFORMERS
            )
            await correct_entry(
                uow, batch_id, step, body.parameter, body.entry(), body.reason, sign
            )
            await sign.record()
            return await _step(uow, batch_id, step, signing.settings.time_zone)

    @router.post(
        "/batches/{batch_id}/exceptions/{exception_id}/disposition", response_model=ExceptionView
    )
    async def disposition(
        batch_id: str,
        exception_id: str,
        body: DispositionBody,
        caller: QualityUnit,
        uow: NewUow,
        signing: SigningGate,
    ) -> ExceptionView:
        """QA's disposition of an exception, signed (meaning approved): product impact or
        none, the rationale and QC's deviation."""
        async with uow:
            sign = await batch_signing(
                uow, signing, caller, batch_id, Meaning.APPROVED, body.signature, QA
            )
            await disposition_exception(
                uow,
                batch_id,
                exception_id,
                body.disposition,
                body.rationale,
                body.deviation_id,
                sign,
            )
            await sign.record()
            view = await execution_of(uow, batch_id, signing.settings.time_zone)
        return next(e for e in view.exceptions if e.exception_id == exception_id)

    @router.get("/batches/{batch_id}/review", response_model=ReviewView)
    async def get_review(
        batch_id: str, caller: Reader, uow: NewUow, signing: SigningGate
    ) -> ReviewView:
        """Review by exception: the exceptions and their dispositions, the deviations, the
        corrections and the late entries, and what blocks the review still."""
        async with uow:
            await batch_site(uow, caller, batch_id)
            return review_view(*await executed(uow, batch_id, signing.settings.time_zone))

    @router.post("/batches/{batch_id}/review", status_code=201, response_model=ReviewView)
    async def review(
        batch_id: str, body: Signed, caller: QualityUnit, uow: NewUow, signing: SigningGate
    ) -> ReviewView:
        """The reviewer signs the review (meaning reviewed); 409 while a step is outstanding
        or unverified (steps-outstanding, unverified-steps) or an exception is not
        dispositioned (exceptions-undispositioned)."""
        async with uow:
            sign = await batch_signing(
                uow, signing, caller, batch_id, Meaning.REVIEWED, body.signature, QA
            )
            await review_record(uow, batch_id, sign)
            await sign.record()
            return review_view(*await executed(uow, batch_id, signing.settings.time_zone))

    @router.get(
        "/batches/{batch_id}/record.pdf",
        summary="executed batch record (PDF)",
        response_class=Response,
        responses={200: {"content": {PDF: {"schema": {"type": "string", "format": "binary"}}}}},
    )
    async def get_record_pdf(
        batch_id: str, caller: Reader, uow: NewUow, signing: SigningGate
    ) -> Response:
        """The executed batch record as a PDF for QA and inspectors: every entry with who
        and when, the signatures (printed name, time, meaning), the exceptions and their
        dispositions, and for each value whether it was changed after its original entry.
        409 batch-has-no-mbr for a batch of the fixed process steps."""
        zone = signing.settings.time_zone
        async with uow:
            await batch_site(uow, caller, batch_id)
            execution = await execution_of(uow, batch_id, zone)
            record = await queries.batch_record(uow.session, batch_id, zone)
            generated = Generated(at=uow.clock.now(), by=f"{caller.who['name']} ({caller.user_id})")
        assert record is not None  # batch_site found it
        # Laying out pages is CPU work: off the event loop.
        pdf = await asyncio.to_thread(
            render_record_pdf,
            title_block(record, execution),
            record_document(record, execution),
            generated,
        )
        disposition = f'inline; filename="batch-record-{batch_id}.pdf"'
        return Response(pdf, media_type=PDF, headers={"Content-Disposition": disposition})

    return router
