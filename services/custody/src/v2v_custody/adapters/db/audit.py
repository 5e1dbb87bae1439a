"""Custody's check for `v2v audit verify`: every ``patient_identity`` row must equal the
newest identity of its CoI's hash-chained identity stream. A swap of two patients' rows, an
edited row, a row without a stream or a stream without its row is named by CoI; findings
name the fields, never their values."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from pydantic import ValidationError
from sqlalchemy import exists, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime.audit import Check, CheckResult, Finding, stream_id_batches
from v2v_runtime.db.tables import events
from v2v_runtime.eventstore import _stored

from ...domain.identity import STREAM_PREFIX, IdentityRecord, PatientIdentity, coi_of
from .projector import CODEC
from .tables import patient_identity

NAME = "patient_identity rows against the identity streams"


def _finding(coi: str, problem: str) -> Finding:
    return Finding(coi, problem, subject="patient_identity")


async def _check_batch(session: AsyncSession, sids: Sequence[str], out: list[Finding]) -> None:
    rows = {
        r.coi: PatientIdentity(r.name, r.birth_date, r.medical_record_number)
        for r in await session.execute(
            select(patient_identity).where(patient_identity.c.coi.in_([coi_of(s) for s in sids]))
        )
    }
    stored = await session.execute(
        select(events)
        .where(events.c.stream_id.in_(sids))
        .order_by(events.c.stream_id, events.c.version)
    )
    for sid, group in groupby((_stored(r) for r in stored), key=lambda e: e.stream_id):
        coi = coi_of(sid) or sid
        try:
            record = IdentityRecord.replay(sid, [CODEC.decode(e) for e in group])
            recorded = record.current
        except (LookupError, ValidationError, TypeError) as exc:
            out.append(_finding(coi, f"identity stream unreadable ({type(exc).__name__})"))
            continue
        row = rows.get(coi)
        if row is None:
            out.append(_finding(coi, "row missing: the identity stream has no row (deleted?)"))
        elif fields := row.differences(recorded):
            out.append(
                _finding(
                    coi,
                    f"row differs from the identity recorded at version {record.version} in "
                    f"{', '.join(fields)} (edited or swapped with another patient's?)",
                )
            )


async def identity_rows_match_streams(session: AsyncSession, batch: int = 500) -> CheckResult:
    findings: list[Finding] = []
    checked = 0
    async for sids in stream_id_batches(session, batch, STREAM_PREFIX):
        checked += len(sids)
        await _check_batch(session, sids, findings)
    orphans = (
        (
            await session.execute(
                select(patient_identity.c.coi)
                .where(
                    ~exists().where(
                        events.c.stream_id == literal(STREAM_PREFIX) + patient_identity.c.coi
                    )
                )
                .order_by(patient_identity.c.coi)
            )
        )
        .scalars()
        .all()
    )
    for coi in orphans:
        checked += 1
        findings.append(_finding(coi, "row without an identity stream (inserted by hand?)"))
    return CheckResult(NAME, checked, findings)


CHECKS: list[Check] = [identity_rows_match_streams]
