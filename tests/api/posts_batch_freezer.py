"""Batch's POST of a controlled-rate freezer run, brought to where it succeeds: an MBR whose
freezing step uses a controlled-rate freezer, effective; a batch of it opened; the freezer
in the equipment register, calibrated."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import httpx

from v2v_batch.adapters.freezing_profiles import load_profiles
from v2v_runtime.testing import ServiceHarness, StepClock

from .posts_batch import SITE, opened
from .posts_batch_mbr import CONTENT, change_approved
from .support import (
    NOW,
    QA,
    SPECIALIST,
    SUPERVISOR,
    Call,
    ok,
    signed_call,
    signed_ok,
)

PRODUCT = "S7FRZ1"
VERSION = f"/mbrs/{PRODUCT}/{SITE}/versions/1"
FREEZER = "CRF-0001"
PROFILE = load_profiles().get("CART-CRF-01")


def content() -> dict[str, Any]:
    """posts_batch_mbr's MBR, its freezing step on a controlled-rate freezer."""
    body = copy.deepcopy(CONTENT)
    body["operations"][0]["steps"][1]["equipment_types"] = ["controlled-rate-freezer"]
    return body


def curve() -> list[dict[str, float]]:
    """A reading a minute on the profile's programme, to its end and a minute more."""
    spans = PROFILE.spans()
    points = []
    for minute in range(int(PROFILE.programmed_s / 60) + 2):
        t = minute * 60.0
        expected = next(s for s in reversed(spans) if s.start_s <= t).expected_c(t)
        points.append({"offset_s": t, "chamber_c": expected, "sample_c": expected + 1})
    return points


async def freezing_batch(h: ServiceHarness, c: httpx.AsyncClient) -> str:
    await ok(c, "/mbrs", {"product_code": PRODUCT, "site": SITE, "content": content()}, SUPERVISOR)
    await ok(c, f"{VERSION}/submission", {}, SUPERVISOR)
    await signed_ok(c, f"{VERSION}/approval", {}, QA)
    await change_approved(h, PRODUCT)
    batch_id = await opened(h, PRODUCT)
    instrument = {
        "equipment_id": FREEZER,
        "equipment_type": "controlled-rate-freezer",
        "name": "Planer Kryo 560-16",
        "site": SITE,
        "location": "cryo room 1.08",
        "calibration": {"interval_days": 365, "due_at": (NOW + timedelta(days=30)).isoformat()},
        "in_service_from": (NOW - timedelta(days=10)).isoformat(),
    }
    await ok(c, "/equipment", instrument, SUPERVISOR)
    clock = h.kit.clock
    assert isinstance(clock, StepClock)
    clock.advance(timedelta(days=1))
    return batch_id


async def record_run(h: ServiceHarness, c: httpx.AsyncClient) -> Call:
    batch_id = await freezing_batch(h, c)
    now = h.kit.clock.now()
    body = {
        "equipment_id": FREEZER,
        "profile_id": PROFILE.profile_id,
        "started_at": (now - timedelta(hours=3)).isoformat(),
        "ended_at": (now - timedelta(hours=1)).isoformat(),
        "curve": curve(),
        "bag_count": 2,
    }
    return await signed_call(c, f"/batches/{batch_id}/freezer-runs", body, SPECIALIST)


SCENARIOS = {"POST /batches/{batch_id}/freezer-runs": record_run}
