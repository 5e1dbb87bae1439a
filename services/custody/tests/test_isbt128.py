"""ISBT 128 identifiers: the MOD 37-2 check character, DINs and chain-of-identity ids."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from v2v_custody.domain.isbt128 import (
    MOD37_CHARSET,
    Din,
    check_character,
    flag_characters,
    issue_coi,
    issue_din,
    mod37_2_value,
    validate_facility_id,
)
from v2v_custody.settings import CustodySettings
from v2v_events.ids import COI_PATTERN, DIN_PATTERN


def weighted_oracle(data: str) -> int:
    """DOMAIN.md's formulation, independent of the implementation's iteration:
    weights 2^n from the right (n = 1..len), check = (38 - sum mod 37) mod 37."""
    total = sum(MOD37_CHARSET.index(c) * 2 ** (len(data) - i) for i, c in enumerate(data))
    return int((38 - total % 37) % 37)


def test_domain_test_vector() -> None:
    assert mod37_2_value("G123498654321") == 17
    assert check_character(17) == "H"
    assert flag_characters(17) == "77"
    din = Din.of("G123498654321")
    assert (din.check_value, din.check, din.flag) == (17, "H", "77")


@pytest.mark.parametrize(
    "data",
    ["A1B2C26000001", "A1B2C26000002", "W000007123456", "Z9ZZZ99999999", "1AAAA00000000"],
)
def test_check_value_matches_the_weighted_formulation(data: str) -> None:
    assert mod37_2_value(data) == weighted_oracle(data)
    assert 0 <= mod37_2_value(data) <= 36


def test_known_check_characters() -> None:
    # Worked by hand with the weighted formulation.
    assert mod37_2_value("0") == 1  # (38 - 0) mod 37
    assert check_character(mod37_2_value("0")) == "1"
    assert mod37_2_value("1") == 36  # (38 - 2) mod 37 = 36 -> '*'
    assert check_character(36) == "*"
    assert flag_characters(36) == "96"
    assert flag_characters(0) == "60"


@pytest.mark.requirement("EU-Annex11.6")
def test_check_detects_single_substitutions_and_adjacent_transpositions() -> None:
    base = "A1B2C26000123"
    value = mod37_2_value(base)
    for i in range(len(base)):
        for c in "0123456789ABCDEFGHJK":
            if c != base[i]:
                assert mod37_2_value(base[:i] + c + base[i + 1 :]) != value
    for i in range(len(base) - 1):
        if base[i] != base[i + 1]:
            swapped = base[:i] + base[i + 1] + base[i] + base[i + 2 :]
            assert mod37_2_value(swapped) != value


def test_din_is_facility_year_sequence() -> None:
    din = issue_din("A1B2C", 2026, 42)
    assert din.number == "A1B2C26000042"
    assert re.fullmatch(DIN_PATTERN, din.number)
    assert din.check == MOD37_CHARSET[weighted_oracle(din.number)]
    assert din.flag == f"{60 + weighted_oracle(din.number)}"


def test_coi_is_ch_facility_year_sequence() -> None:
    coi = issue_coi("A1B2C", 2026, 123)
    assert coi == "CHA1B2C26000123"
    assert re.fullmatch(COI_PATTERN, coi)
    assert issue_coi("Z9Y8X", 2100, 999_999) == "CHZ9Y8X00999999"


@pytest.mark.parametrize("sequence", [0, -1, 1_000_000])
def test_sequence_out_of_range_is_refused(sequence: int) -> None:
    with pytest.raises(ValueError, match="sequence"):
        issue_coi("A1B2C", 2026, sequence)
    with pytest.raises(ValueError, match="sequence"):
        issue_din("A1B2C", 2026, sequence)


@pytest.mark.parametrize("bad", ["O1B2C", "01B2C", "A1B2", "A1B2CD", "a1b2c", "A1-2C", ""])
def test_facility_id_format(bad: str) -> None:
    with pytest.raises(ValueError, match="facility id"):
        validate_facility_id(bad)
    with pytest.raises(ValidationError):
        CustodySettings(facility_id=bad)


def test_facility_id_is_configuration() -> None:
    assert CustodySettings().facility_id == "A1B2C"
    assert CustodySettings(facility_id="W0000").policy.facility_id == "W0000"


def test_not_a_din() -> None:
    with pytest.raises(ValueError, match="not a DIN"):
        Din.of("G12349865432")
    with pytest.raises(ValueError, match="MOD 37-2"):
        mod37_2_value("A1B2-")
