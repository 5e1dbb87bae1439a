"""Freezing profiles and the band comparison of a recorded freezer curve (pure): the
programmed temperature and band at any time of a run, readings inside, outside and on the
edge of the band, excursions with their first and worst readings, a curve that stops
before the programme's end, and a curve refused as entered (order, physical range, run,
enough readings). The profiles file is validated when loaded."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from v2v_batch.adapters.freezing_profiles import (
    DEFAULT_FREEZING_PROFILES,
    FreezingProfilesError,
    load_profiles,
    parse_profiles,
)
from v2v_batch.bootstrap import build
from v2v_batch.domain.freezer_curve import CurvePoint, checked_curve, compare, curve_digest
from v2v_batch.domain.freezer_runs import out_of_band
from v2v_batch.domain.freezing_profile import Probe
from v2v_batch.settings import BatchSettings
from v2v_runtime.errors import DomainError

from .freezer_support import CART, PROFILES, ideal, warmed

RAW: dict[str, Any] = json.loads(DEFAULT_FREEZING_PROFILES.read_text(encoding="utf-8"))
RUN_S = CART.programmed_s + 120


def test_the_shipped_car_t_profile_programmes_the_domain_curve() -> None:
    """+4 °C for 10 min, -1 °C/min to -40 °C (44 min), -10 °C/min to -90 °C (5 min), hold."""
    assert PROFILES.ids == ["CART-CRF-01"]
    assert (PROFILES.probe_range.min_c, PROFILES.probe_range.max_c) == (-200, 40)
    spans = [(s.start_s / 60, s.end_s / 60, s.from_c, s.to_c) for s in CART.spans()]
    assert spans == [(0, 10, 4, 4), (10, 54, 4, -40), (54, 59, -40, -90), (59, 69, -90, -90)]
    assert CART.programmed_s == 69 * 60 and CART.probes == (Probe.CHAMBER, Probe.SAMPLE)
    during_ramp = CART.band_at(Probe.SAMPLE, 30 * 60)  # 20 min into -1 °C/min from +4
    assert (during_ramp.expected_c, during_ramp.lower_c, during_ramp.upper_c) == (-16, -21, -6)
    # on the border of two segments, the later one's band; after the programme, the last
    border = CART.band_at(Probe.SAMPLE, 10 * 60)
    assert (border.expected_c, border.lower_c, border.upper_c) == (4, -1, 14)
    late = CART.band_at(Probe.SAMPLE, 80 * 60)
    assert (late.expected_c, late.lower_c, late.upper_c) == (-90, -100, -80)


def test_a_curve_on_the_programme_is_in_band() -> None:
    result = compare(CART, ideal())
    assert result.in_band and result.completed and result.excursions == ()
    assert result.first is None and result.worst is None


def test_a_reading_on_the_edge_of_the_band_is_inside_and_just_past_it_outside() -> None:
    """The hold at +4 °C bands the sample 1 to 7 °C."""
    curve = ideal()
    at_5_min = next(i for i, p in enumerate(curve) if p.offset_s == 300)
    edge = list(curve)
    edge[at_5_min] = edge[at_5_min].model_copy(update={"sample_c": 7.0})
    assert compare(CART, edge).in_band
    edge[at_5_min] = edge[at_5_min].model_copy(update={"sample_c": 0.999})
    [excursion] = compare(CART, edge).excursions
    assert excursion.probe is Probe.SAMPLE and excursion.worst.lower_c == 1.0


def test_excursions_name_their_probe_span_first_and_worst_reading() -> None:
    # the sample (1 °C above the programme) warms 25 °C from 55 to 57 min, during the
    # -10 °C/min ramp (band: 20 above): 6 °C outside; then, in the hold at -90 °C (band:
    # 10 above), 10 °C from 65 to 66 min: 1 °C outside
    curve = warmed(ideal(), 55 * 60, 57 * 60, 25)
    curve = warmed(curve, 65 * 60, 66 * 60, 10)
    result = compare(CART, curve)
    assert not result.in_band and result.completed
    ramp, hold = result.excursions
    assert (ramp.probe, ramp.from_s, ramp.to_s, ramp.readings) == (
        Probe.SAMPLE,
        55 * 60,
        57 * 60,
        5,
    )
    assert (ramp.first.temperature_c, ramp.first.expected_c, ramp.first.upper_c) == (-24, -50, -30)
    assert ramp.first.outside_by_c == 6 and ramp.first.segment == "-10 °C/min to -90 °C"
    assert (hold.from_s, hold.to_s, hold.readings) == (65 * 60, 66 * 60, 3)
    assert (hold.worst.temperature_c, hold.worst.upper_c, hold.worst.outside_by_c) == (-79, -80, 1)
    assert result.first == ramp and result.worst == ramp
    text = out_of_band("run-1", "CRF-01", CART, result)
    assert (text.parameter, text.limit) == ("sample_c", "-55.0 to -30.0 °C")
    assert text.value == "-24 °C at 55.0 min"
    assert "2 excursion(s) outside the band; first: sample -24 °C at 55.0 min" in text.detail
    assert "CRF-01 with profile CART-CRF-01 (CART-CRF-01-v1)" in text.detail


def test_a_chamber_excursion_counts_as_well_and_missing_readings_do_not_split_one() -> None:
    curve = warmed(ideal(), 20 * 60, 22 * 60, 9, probe="chamber")  # band: 5 above
    # the sample probe was not read at 21 min: the chamber's excursion goes on
    curve = [p.model_copy(update={"sample_c": None}) if p.offset_s == 21 * 60 else p for p in curve]
    [excursion] = compare(CART, curve).excursions
    assert (excursion.probe, excursion.readings) == (Probe.CHAMBER, 5)


def test_a_curve_that_stops_before_the_programmes_end_is_not_in_band() -> None:
    result = compare(CART, ideal(until_s=40 * 60))
    assert not result.in_band and not result.completed and result.excursions == ()
    assert result.curve_ends_s == 40 * 60 and result.programmed_s == 69 * 60
    text = out_of_band("run-2", "CRF-01", CART, result)
    assert text.parameter is None
    assert (text.value, text.limit) == ("curve ends at 40.0 min", "programme of 69.0 min")
    assert "before the programme's end at 69.0 min" in text.detail


def refused(points: list[CurvePoint], code: str, field: str, run_s: float = RUN_S) -> None:
    with pytest.raises(DomainError) as caught:
        checked_curve(points, CART, PROFILES.probe_range, run_s)
    assert (caught.value.code, caught.value.extra["field"], caught.value.status) == (
        code,
        field,
        422,
    )


def test_a_curve_out_of_order_or_out_of_range_is_refused_naming_the_point() -> None:
    curve = ideal()
    assert checked_curve(curve, CART, PROFILES.probe_range, RUN_S) == tuple(curve)
    swapped = [curve[0], curve[2], curve[1], *curve[3:]]
    refused(swapped, "curve-out-of-order", "curve[2].offset_s")
    repeated = [curve[0], curve[0], *curve[1:]]
    refused(repeated, "curve-out-of-order", "curve[1].offset_s")  # strictly increasing
    cold = [*curve[:5], curve[5].model_copy(update={"sample_c": -250.0}), *curve[6:]]
    refused(cold, "curve-out-of-range", "curve[5].sample_c")
    hot = [*curve[:3], curve[3].model_copy(update={"chamber_c": 45.0}), *curve[4:]]
    refused(hot, "curve-out-of-range", "curve[3].chamber_c")
    # the physical range's ends are readings like any other
    ends = [curve[0].model_copy(update={"chamber_c": -200.0, "sample_c": 40.0}), *curve[1:]]
    checked_curve(ends, CART, PROFILES.probe_range, RUN_S)
    empty = [*curve[:2], CurvePoint(offset_s=curve[2].offset_s), *curve[3:]]
    refused(empty, "curve-point-empty", "curve[2]")


def test_a_curve_outside_the_run_or_with_too_few_readings_is_refused() -> None:
    curve = ideal()
    last = len(curve) - 1
    refused(curve, "curve-outside-run", f"curve[{last}].offset_s", run_s=curve[-1].offset_s - 1)
    before = [CurvePoint(offset_s=-1, sample_c=4, chamber_c=4), *curve]
    refused(before, "curve-outside-run", "curve[0].offset_s")
    refused(curve[:9], "curve-too-few-points", "curve")  # the profile compares 10 at least
    # a banded probe needs its readings: here the chamber probe has none
    no_chamber = [p.model_copy(update={"chamber_c": None}) for p in curve]
    refused(no_chamber, "curve-too-few-points", "curve")


def test_the_curve_digest_changes_with_any_reading() -> None:
    curve = ideal()
    changed = [curve[0].model_copy(update={"sample_c": 5.5}), *curve[1:]]
    assert curve_digest(curve) == curve_digest(list(curve))
    assert curve_digest(curve) != curve_digest(changed)


def test_an_unknown_profile_is_a_problem_naming_the_field() -> None:
    with pytest.raises(DomainError) as caught:
        PROFILES.get("CART-CRF-99")
    assert (caught.value.code, caught.value.extra["field"]) == (
        "freezing-profile-unknown",
        "profile_id",
    )


def broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(RAW)
    change(data, data["profiles"]["CART-CRF-01"])
    return data


@pytest.mark.parametrize(
    "change",
    [
        lambda d, p: d.update(format="v2v-batch-freezing-profiles/9"),
        lambda d, p: d.update(profiles={}),
        lambda d, p: d.update(probe_range_c={"min_c": 40, "max_c": -200}),
        lambda d, p: p.update(segments=[]),
        lambda d, p: p["segments"][0].update(rate_c_per_min=-1),  # a hold and a ramp
        lambda d, p: p["segments"][1].update(to_c=10),  # cooling at -1 °C/min up to +10 °C
        lambda d, p: p["segments"][1].update(rate_c_per_min=0),
        lambda d, p: p["segments"][2]["band"].pop("chamber"),  # another probe set
        lambda d, p: p["segments"][3]["band"]["sample"].update(below_c=-1),
        lambda d, p: p.update(min_points=1),
        lambda d, p: d["profiles"].update({"cart 1": p}),  # not a profile id
    ],
)
def test_an_invalid_profiles_file_is_refused_when_loaded(change: Any) -> None:
    with pytest.raises(FreezingProfilesError):
        parse_profiles(broken(change))


def test_an_unreadable_profiles_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "profiles.json"
    path.write_text("{not json")
    with pytest.raises(FreezingProfilesError):
        load_profiles(path)
    with pytest.raises(FreezingProfilesError):
        load_profiles(tmp_path / "missing.json")


def test_the_service_does_not_start_with_invalid_profiles(tmp_path: Path) -> None:
    path = tmp_path / "profiles.json"
    path.write_text(json.dumps(broken(lambda d, p: p["segments"][1].update(to_c=10))))
    settings = BatchSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/batch.sqlite", freezing_profiles_config=path
    )
    with pytest.raises(FreezingProfilesError):
        build(settings)
