"""ISBT 128 identifiers issued by custody: Donation Identification Numbers (DIN) and
Chain of Identity ids (data structure 040 as configured here).

Pure functions: the facility id, the year and the sequence number are passed in (the
sequence comes from a counter in custody's database, the year from the injected clock).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from v2v_events.ids import COI_PATTERN, DIN_PATTERN

# ISO/IEC 7064 MOD 37-2: 0-9 -> 0-9, A-Z -> 10-35, '*' -> 36.
MOD37_CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
_VALUES = {c: i for i, c in enumerate(MOD37_CHARSET)}

FACILITY_ID_PATTERN = r"^[A-NP-Z1-9][A-Z0-9]{4}$"
SEQUENCE_MAX = 999_999  # 6 digits (DIN) / 6 characters of decimal (CoI)

_FACILITY = re.compile(FACILITY_ID_PATTERN)
_DIN = re.compile(DIN_PATTERN)
_COI = re.compile(COI_PATTERN)


def validate_facility_id(facility_id: str) -> str:
    """The 5-character ISBT 128 facility id (first in A-N, P-Z, 1-9; then A-Z, 0-9)."""
    if not _FACILITY.fullmatch(facility_id):
        raise ValueError(
            f"facility id {facility_id!r} is not 5 characters: first in A-N, P-Z, 1-9, "
            "then A-Z or 0-9"
        )
    return facility_id


def mod37_2_value(data: str) -> int:
    """The ISO/IEC 7064 MOD 37-2 check value (0-36) of ``data``."""
    total = 0
    for char in data:
        value = _VALUES.get(char)
        if value is None:
            raise ValueError(f"{char!r} is not in the MOD 37-2 character set")
        total = ((total + value) * 2) % 37
    return (38 - total) % 37


def check_character(value: int) -> str:
    """The printed check character of a MOD 37-2 check value."""
    return MOD37_CHARSET[value]


def flag_characters(value: int) -> str:
    """The two flag characters carried in the barcode: 60 + the check value."""
    return f"{60 + value:02d}"


def _year2(year: int) -> str:
    if year < 0:
        raise ValueError(f"year {year} is negative")
    return f"{year % 100:02d}"


def _sequence(sequence: int) -> str:
    if not 1 <= sequence <= SEQUENCE_MAX:
        raise ValueError(f"sequence {sequence} is outside 1..{SEQUENCE_MAX}")
    return f"{sequence:06d}"


@dataclass(frozen=True)
class Din:
    """A Donation Identification Number with its check character and barcode flags."""

    number: str  # the 13 characters: facility id + year + sequence
    check_value: int

    @property
    def check(self) -> str:
        return check_character(self.check_value)

    @property
    def flag(self) -> str:
        return flag_characters(self.check_value)

    @classmethod
    def of(cls, number: str) -> Din:
        if not _DIN.fullmatch(number):
            raise ValueError(f"{number!r} is not a DIN")
        return cls(number, mod37_2_value(number))


def issue_din(facility_id: str, year: int, sequence: int) -> Din:
    """DIN = facility id (5) + 2-digit year + 6-digit sequence."""
    return Din.of(validate_facility_id(facility_id) + _year2(year) + _sequence(sequence))


def issue_coi(facility_id: str, year: int, sequence: int) -> str:
    """Chain of Identity id: "CH" + facility id (5) + 2-digit year + 6-char sequence."""
    coi = "CH" + validate_facility_id(facility_id) + _year2(year) + _sequence(sequence)
    if not _COI.fullmatch(coi):  # pragma: no cover - guaranteed by the parts above
        raise ValueError(f"{coi!r} is not a chain-of-identity id")
    return coi


def is_coi(value: str) -> bool:
    return _COI.fullmatch(value) is not None
