"""How the cohort counts: a command applied twice, and alike failures grouped."""

from __future__ import annotations

from bench.walks import live, normalised


def test_doubled_means_two_live_rows_for_one_kind_and_attempt() -> None:
    bookings = [
        {"kind": "collection", "attempt": 1, "status": "cancelled"},
        {"kind": "collection", "attempt": 1, "status": "booked"},  # re-booked after a cancel
        {"kind": "collection", "attempt": 2, "status": "booked"},
        {"kind": "infusion-slot", "attempt": 1, "status": "booked"},
    ]
    assert live(bookings, "kind", "attempt") == []
    twice = [*bookings, {"kind": "infusion-slot", "attempt": 1, "status": "booked"}]
    assert live(twice, "kind", "attempt") == ["infusion-slot/1"]


def test_failure_reasons_are_grouped_without_their_ids_and_dates() -> None:
    a = normalised(
        "journey failed: no free manufacturing slot at manufacturing-site-1 from 2026-12-01"
    )
    b = normalised(
        "journey failed: no free manufacturing slot at manufacturing-site-2 from 2026-12-09"
    )
    assert a == b
    c = normalised("timed out waiting for QC panel for 2d182fdd-3452-4a8f-bd9f-64a68bc93164")
    d = normalised("timed out waiting for QC panel for 91980037-9f64-4372-9f36-de0a837afd57")
    assert c == d == "timed out waiting for QC panel for <id>"
