"""Identifier formats that appear in public messages (ISBT 128)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

# Chain of Identity, ISBT 128 data structure 040 as configured here: "CH" + facility id
# (5 chars, first in A-N, P-Z, 1-9) + 2-digit year + 6-char sequence.
COI_PATTERN = r"^CH[A-NP-Z1-9][A-Z0-9]{4}[0-9]{2}[A-Z0-9]{6}$"
# Donation Identification Number: facility id + 2-digit year + 6-digit sequence, with the
# optional 2 flag characters left off the id itself.
DIN_PATTERN = r"^[A-NP-Z1-9][A-Z0-9]{4}[0-9]{2}[0-9]{6}$"

CoI = Annotated[
    str,
    StringConstraints(pattern=COI_PATTERN, max_length=15),
    Field(examples=["CHA1B2C26000123"]),
]
DIN = Annotated[
    str, StringConstraints(pattern=DIN_PATTERN, max_length=13), Field(examples=["G123498654321"])
]
