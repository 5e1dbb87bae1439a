"""Environmental monitoring without I/O: the packaged programme (EU GMP Annex 1 (2022)),
classifying results per grade and sample type (Grade A's no growth, particles at rest and
in operation, alert and action, limits the Annex leaves open), the configuration refused
when incomplete or inconsistent, a room's results and corrections, and the alert-trend
rule."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from v2v_batch.adapters.em_config import (
    DEFAULT_EM_CONFIG,
    EmConfigError,
    load_programme,
    parse_programme,
)
from v2v_batch.domain.em_limits import (
    EmProgramme,
    Grade,
    Level,
    Occupancy,
    TrendRule,
    classify,
)
from v2v_batch.domain.em_trend import Sample, alert_trends, trending_now
from v2v_batch.domain.room import Room
from v2v_runtime.errors import Conflict, DomainError

PROGRAMME = load_programme()
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
A, B, C, D = Grade.A, Grade.B, Grade.C, Grade.D
REST, OPERATION = Occupancy.AT_REST, Occupancy.IN_OPERATION


def level(grade: Grade, sample_type: str, value: float, occupancy: Occupancy | None = None) -> str:
    return classify(value, PROGRAMME.limit_for(grade, sample_type, occupancy)).value


def test_the_packaged_programme_names_its_edition_and_annex_1_action_limits() -> None:
    assert PROGRAMME.edition == "EU GMP Annex 1 (2022)"
    assert PROGRAMME.impact_window == timedelta(hours=24)
    action = {
        (g, t): PROGRAMME.limit_for(g, t, None).action
        for g in Grade
        for t in ("viable-air", "settle-plate", "contact-plate", "glove-print")
    }
    assert [action[A, t] for t in ("viable-air", "settle-plate", "contact-plate")] == [0, 0, 0]
    assert [action[B, t] for t in ("viable-air", "settle-plate", "contact-plate")] == [10, 5, 5]
    assert [action[C, t] for t in ("viable-air", "settle-plate", "contact-plate")] == [100, 50, 25]
    assert [action[D, t] for t in ("viable-air", "settle-plate", "contact-plate")] == [200, 100, 50]
    assert [action[g, "glove-print"] for g in Grade] == [0, 5, None, None]
    particles = {
        (g, o): (
            PROGRAMME.limit_for(g, "particles-0.5um", o).action,
            PROGRAMME.limit_for(g, "particles-5um", o).action,
        )
        for g in Grade
        for o in Occupancy
    }
    assert particles[A, REST] == particles[A, OPERATION] == (3520, 29)
    assert (particles[B, REST], particles[B, OPERATION]) == ((3520, 29), (352000, 2930))
    assert (particles[C, REST], particles[C, OPERATION]) == ((352000, 2930), (3520000, 29300))
    assert (particles[D, REST], particles[D, OPERATION]) == ((3520000, 29300), (None, None))
    assert PROGRAMME.limit_for(D, "particles-0.5um", OPERATION).basis == "not-predetermined"
    assert PROGRAMME.limit_for(C, "glove-print", None).basis == "no-limit"


@pytest.mark.requirement("EU-Annex1.9")
def test_grade_a_no_growth_one_colony_is_an_action_excursion() -> None:
    assert level(A, "settle-plate", 0) == "within"
    assert level(A, "settle-plate", 1) == "action"
    assert level(A, "glove-print", 1) == "action"
    assert PROGRAMME.limit_for(A, "viable-air", None).text("CFU/m³") == "no growth"


@pytest.mark.requirement("EU-Annex1.9")
def test_alert_above_the_site_alert_limit_action_above_the_action_limit() -> None:
    assert [level(B, "settle-plate", v) for v in (0, 2, 3, 5, 6)] == [
        "within",
        "within",
        "alert",
        "alert",
        "action",
    ]
    assert [level(D, "contact-plate", v) for v in (25, 26, 50, 51)] == [
        "within",
        "alert",
        "alert",
        "action",
    ]
    shown = PROGRAMME.limit_for(B, "settle-plate", None).text("CFU/4 h")
    assert shown == "action > 5 CFU/4 h, alert > 2 CFU/4 h"


@pytest.mark.requirement("EU-Annex1.9")
def test_particle_limits_follow_the_occupancy_state() -> None:
    assert level(B, "particles-0.5um", 10_000, OPERATION) == "within"
    assert level(B, "particles-0.5um", 10_000, REST) == "action"
    assert level(B, "particles-5um", 20, REST) == "alert"
    assert level(A, "particles-5um", 30, OPERATION) == "action"
    assert level(D, "particles-0.5um", 9e9, OPERATION) == "no-limit"  # not predetermined
    assert level(C, "glove-print", 500) == "no-limit"
    with pytest.raises(DomainError) as refused:
        PROGRAMME.limit_for(B, "particles-0.5um", None)
    assert (refused.value.code, refused.value.extra["field"]) == ("occupancy-required", "occupancy")


def test_unknown_sample_type_and_wrong_unit_name_their_field() -> None:
    with pytest.raises(DomainError) as unknown:
        PROGRAMME.unit_of("swab", "CFU")
    assert (unknown.value.code, unknown.value.extra["field"]) == (
        "sample-type-unknown",
        "sample_type",
    )
    with pytest.raises(DomainError) as wrong:
        PROGRAMME.unit_of("settle-plate", "CFU/plate")
    assert (wrong.value.code, wrong.value.extra["field"]) == ("unit-mismatch", "unit")
    assert PROGRAMME.unit_of("viable-air", "CFU/m3") == "CFU/m³"  # recorded in its first unit


def _raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_EM_CONFIG.read_text(encoding="utf-8"))
    return data


def _broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(_raw())
    change(data)
    return data


@pytest.mark.requirement("EU-Annex11.10")
@pytest.mark.parametrize(
    "data",
    [
        _broken(lambda d: d.pop("edition")),  # the Annex 1 edition is named
        _broken(lambda d: d["limits"].pop("C")),  # every grade
        _broken(lambda d: d["limits"]["B"].pop("glove-print")),  # every sample type
        _broken(lambda d: d["limits"]["B"].update({"swab": {"action": 1}})),  # no other
        _broken(lambda d: d["limits"]["B"].update({"settle-plate": {"action": 5, "alert": 5}})),
        _broken(lambda d: d["limits"]["B"].update({"settle-plate": {"at-rest": {"action": 5}}})),
        _broken(lambda d: d["limits"]["B"].update({"particles-5um": {"action": 29}})),
        _broken(lambda d: d["limits"]["B"]["particles-5um"].pop("at-rest")),
        _broken(lambda d: d["limits"]["D"].update({"glove-print": "unlimited"})),
        _broken(lambda d: d["limits"]["A"]["viable-air"].update({"action": -1})),
        _broken(lambda d: d.update({"trend": {"alerts": 6, "samples": 5}})),
        _broken(lambda d: d.update({"trend": {"alerts": 1, "samples": 5}})),
        _broken(lambda d: d.update({"impact_window_hours": 0})),
        _broken(lambda d: d["sample_types"]["settle-plate"].update({"units": []})),
        _broken(lambda d: d.update({"format": "v2v-batch-em/2"})),
    ],
)
def test_an_incomplete_or_inconsistent_programme_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(EmConfigError):
        parse_programme(data)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(EmConfigError):
        load_programme(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(EmConfigError):
        load_programme(tmp_path / "bad.json")


def room(grade: Grade = B) -> Room:
    return Room.register(
        room_id="GRADE-B-SUITE-2", name="Suite 2", grade=grade, site="site-1", registered_at=T0
    )


def record(r: Room, sample_id: str, value: float, **more: Any) -> Any:
    args: dict[str, Any] = {
        "result_id": f"res-{sample_id}",
        "sample_id": sample_id,
        "sample_type": "settle-plate",
        "location": "SP-04",
        "sampled_at": T0,
        "read_at": T0 + timedelta(days=5),
        "occupancy": OPERATION,
        "value": value,
        "unit": "CFU/4h",
        "comment": None,
        "programme": PROGRAMME,
        "recorded_at": T0 + timedelta(days=5),
        "late": False,
    } | more
    return r.record_result(**args)


@pytest.mark.requirement("EU-Annex1.9")
def test_a_result_keeps_the_limits_edition_and_impact_window_it_was_classified_under() -> None:
    r = room()
    result = record(r, "SP-1", 7)
    assert (result.level, result.grade, result.unit) == (Level.ACTION, B, "CFU/4 h")
    assert (result.limit.action, result.limit.alert) == (5, 2)
    assert (result.edition, result.config_version) == ("EU GMP Annex 1 (2022)", "em-2026.1")
    assert (result.impact_from, result.impact_to) == (
        T0 - timedelta(hours=24),
        T0 + timedelta(hours=24),
    )
    assert result.trend_rule == TrendRule(alerts=2, samples=5)


def test_a_room_refuses_a_second_result_of_a_sample_and_a_reading_before_sampling() -> None:
    r = room()
    record(r, "SP-1", 1)
    with pytest.raises(Conflict) as again:
        record(r, "SP-1", 2, result_id="other")
    assert again.value.code == "em-sample-already-recorded"
    with pytest.raises(DomainError) as early:
        record(r, "SP-2", 1, read_at=T0 - timedelta(minutes=1))
    assert (early.value.code, early.value.extra["field"]) == ("read-before-sampling", "read_at")


@pytest.mark.requirement("EU-Annex1.9", "EU-PartIV.6.1")
def test_a_correction_keeps_the_old_value_and_classifies_again_under_the_recorded_limits() -> None:
    r = room()
    record(r, "SP-1", 1)
    corrected = r.correct_result(
        "res-SP-1", value=6, unit="CFU/4 h", reason="recount", corrected_at=T0
    )
    assert (corrected.old_value, corrected.new_value) == (1, 6)
    assert (corrected.old_level, corrected.new_level) == (Level.WITHIN, Level.ACTION)
    assert [(c.old, c.new) for c in corrected.changes()] == [(1, 6)]
    current = r.result("res-SP-1")
    assert (current.value, current.level, current.ever_action) == (6, Level.ACTION, True)
    with pytest.raises(Conflict):
        r.correct_result("res-SP-1", value=6, unit="CFU/4 h", reason="again", corrected_at=T0)
    with pytest.raises(DomainError) as unit:
        r.correct_result("res-SP-1", value=3, unit="CFU/plate", reason="x", corrected_at=T0)
    assert unit.value.code == "unit-mismatch"


RULE = TrendRule(alerts=2, samples=5)


def series(*levels: str, rule: TrendRule = RULE) -> list[Sample]:
    return [Sample(f"r{i}", Level(lv), rule) for i, lv in enumerate(levels)]


@pytest.mark.requirement("EU-Annex1.9")
def test_an_alert_trend_is_n_alerts_in_m_consecutive_samples() -> None:
    # the second alert within five samples completes a trend; further apart, none
    assert alert_trends(series("alert", "within", "within", "within", "alert")) == {"r4"}
    assert alert_trends(series("alert", "within", "within", "within", "within", "alert")) == set()
    # an action result exceeds the alert limit too
    assert alert_trends(series("action", "alert")) == {"r1"}
    assert alert_trends(series("within", "no-limit", "within")) == set()
    three = TrendRule(alerts=3, samples=4)
    assert alert_trends(series("alert", "alert", "within", "alert", "alert", rule=three)) == {
        "r3",
        "r4",
    }
    assert trending_now(series("alert", "within", "alert"), RULE) == (2, True)
    assert trending_now(series("alert", *["within"] * 4, "alert"), RULE) == (1, False)


def test_the_programme_model_is_the_configuration() -> None:
    assert EmProgramme.model_validate(_raw()) == PROGRAMME
