"""A patient's identity (name, birth date, medical record number): recorded at enrolment and
corrected only with a reason, each version an event of the stream ``identity-<CoI>`` in
custody's own event store, so it is hash-chained, sealed and attributable like the rest of
the record. It never leaves custody: not in messages, logs or span attributes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from v2v_runtime.domain import Aggregate, DomainEvent
from v2v_runtime.errors import DomainError

from .events import IdentityCorrected, IdentityFields, IdentityRecorded, IdentityViewed
from .isbt128 import is_coi

MAX_AGE_YEARS = 130
STREAM_PREFIX = "identity-"


def identity_stream(coi: str) -> str:
    return f"{STREAM_PREFIX}{coi}"


def coi_of(stream_id: str) -> str | None:
    """The CoI of an identity stream; None for any other stream."""
    coi = stream_id.removeprefix(STREAM_PREFIX)
    return coi if coi != stream_id else None


@dataclass(frozen=True)
class PatientIdentity:
    """Patient-identifying data: stays inside custody, never in messages or logs."""

    name: str
    birth_date: date
    medical_record_number: str

    @property
    def mrn_key(self) -> str:
        """The record number as compared between enrolments: case and spacing do not
        make another patient."""
        return "".join(self.medical_record_number.split()).upper()

    def check(self, today: date) -> None:
        if not self.name.strip():
            raise DomainError("patient-name-missing", "the patient's name is empty")
        if not self.medical_record_number.strip():
            raise DomainError("mrn-missing", "the medical record number is empty")
        if self.birth_date > today:
            raise DomainError("birth-date-in-future", "the birth date lies in the future")
        if today.year - self.birth_date.year > MAX_AGE_YEARS:
            raise DomainError("birth-date-implausible", "the birth date is implausibly early")

    def fields(self) -> IdentityFields:
        return IdentityFields(
            name=self.name,
            birth_date=self.birth_date,
            medical_record_number=self.medical_record_number,
        )

    def differences(self, other: PatientIdentity) -> list[str]:
        """The names of the fields that differ (never their values)."""
        return [
            f
            for f in ("name", "birth_date", "medical_record_number")
            if getattr(self, f) != getattr(other, f)
        ]


class IdentityRecord(Aggregate):
    """Stream ``identity-<CoI>``: the identity as recorded, then as corrected."""

    def __init__(self, id: str) -> None:
        super().__init__(id)
        self.coi = coi_of(id) or ""
        self._current: PatientIdentity | None = None

    @property
    def current(self) -> PatientIdentity:
        if self._current is None:
            raise DomainError("identity-not-recorded", f"no identity recorded for {self.coi!r}")
        return self._current

    @classmethod
    def record(cls, coi: str, identity: PatientIdentity, today: date) -> IdentityRecord:
        if not is_coi(coi):
            raise ValueError(f"{coi!r} is not a chain-of-identity id")
        identity.check(today)
        record = cls(identity_stream(coi))
        record._record(
            IdentityRecorded(
                coi=coi,
                name=identity.name,
                birth_date=identity.birth_date,
                medical_record_number=identity.medical_record_number,
            )
        )
        return record

    def correct(
        self, new: PatientIdentity, reason_code: str, reason: str, today: date
    ) -> IdentityCorrected:
        """Correct the identity; a reason code (checked against the configured codes by
        the caller) and the reason text are mandatory (GMP: every change explained)."""
        if not reason.strip() or not reason_code.strip():
            raise DomainError("correction-reason-missing", "a correction needs a reason")
        new.check(today)
        old = self.current
        if not old.differences(new):
            raise DomainError("identity-unchanged", "the correction changes nothing")
        event = IdentityCorrected(
            coi=self.coi, old=old.fields(), new=new.fields(), reason=reason, reason_code=reason_code
        )
        self._record(event)
        return event

    def viewed(self) -> None:
        """Record that the identity was shown to someone (the actor of the save)."""
        self.current  # noqa: B018 (refuses an identity never recorded)
        self._record(IdentityViewed(coi=self.coi))

    def apply(self, event: DomainEvent) -> None:
        match event:
            case IdentityViewed():
                pass
            case IdentityRecorded():
                self._current = PatientIdentity(
                    event.name, event.birth_date, event.medical_record_number
                )
            case IdentityCorrected():
                new = event.new
                self._current = PatientIdentity(new.name, new.birth_date, new.medical_record_number)
            case _:
                raise TypeError(f"IdentityRecord cannot apply {type(event).__name__}")
