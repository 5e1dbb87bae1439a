"""Distinct, valid patients for the measures.

Custody refuses a second active enrolment of a patient (same MRN at a treatment center), a
site its directory does not know, and an earliest collection outside today..+180 days; so
every patient of a run has its own MRN and the sites come from custody's packaged directory.
Manufacturing sites and treatment centers are taken in proportion to their configured daily
slots (logistics' packaged network), so no site is asked for more than it offers. For the
latency and command measures the dates are also spread over the window, so logistics finds
slots without running out of capacity (not what those measures are about); the cohort's
journeys start today, as the demo's do.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from v2v_cli.journeys import Patient
from v2v_custody.adapters.config import load_sites
from v2v_logistics.adapters.config import load_network

# Spread earliest collections start beyond logistics' 28-day search horizon from today, so
# those patients never take a slot a cohort journey (earliest today) could want.
SPREAD_FROM_DAYS = 30
SPREAD_DAYS = 145  # offsets cycle over 30 … 174 days, inside custody's 180-day window


def facility_id(first: str) -> str:
    """A fresh ISBT 128 facility id for one custody process (``first``: a letter other than
    O). Chain-of-identity ids carry it, so two custody databases of one run never issue the
    same CoI onto the same Kafka and Temporal (a journey bridge would take the second
    enrolment for a duplicate of the first, or signal the first one's journey)."""
    return f"{first}{uuid.uuid4().hex[:4].upper()}"


def weighted(names: Iterable[str], weight: Callable[[str], int]) -> list[str]:
    """One cycle of ``names``, each repeated as often as its weight (over the weights' gcd):
    patient ``i`` takes ``cycle[i % len(cycle)]``."""
    ordered = sorted(names)
    weights = {n: max(weight(n), 0) for n in ordered}
    if not any(weights.values()):
        return ordered
    g = math.gcd(*(w for w in weights.values() if w))
    return [n for n in ordered for _ in range(weights[n] // g)]


def sites() -> tuple[list[str], list[str], list[str]]:
    """Cycles of (treatment centers, apheresis centers, manufacturing sites): custody's
    directory, weighted by logistics' slots a day (infusion, manufacturing)."""
    directory, network = load_sites(), load_network()

    def infusion(name: str) -> int:
        tc = network.treatment_centers.get(name)
        return tc.infusion_slots_per_day if tc else 1

    def manufacturing(name: str) -> int:
        site = network.manufacturing_sites.get(name)
        return site.slots_per_day if site else 1

    return (
        weighted(directory.treatment_centers, infusion),
        sorted(directory.apheresis_centers),
        weighted(directory.manufacturing_sites, manufacturing),
    )


def today() -> date:
    return datetime.now(UTC).date()


def identity(run: str, i: int) -> tuple[str, str, str]:
    """(name, birth date, MRN) of patient ``i`` of run ``run``: distinct per (run, i)."""
    born = date(1950, 1, 1) + timedelta(days=(i * 37) % 18_000)
    return f"Bench Patient {run} {i}", born.isoformat(), f"MRN-{run}-{i:06d}"


def earliest_collection(i: int) -> date:
    """Patient ``i``'s earliest collection, spread over custody's window."""
    return today() + timedelta(days=SPREAD_FROM_DAYS + (i * 3) % SPREAD_DAYS)


def patient(run: str, i: int, product_code: str) -> Patient:
    """Patient ``i`` of ``run`` for the journey driver; sites taken in turn (weighted)."""
    tcs, acs, mss = sites()
    name, born, mrn = identity(run, i)
    return Patient(
        name=name,
        birth_date=born,
        mrn=mrn,
        product_code=product_code,
        treatment_center=tcs[i % len(tcs)],
        apheresis_center=acs[i % len(acs)],
        manufacturing_site=mss[i % len(mss)],
    )


def enrolment_body(run: str, i: int, product_code: str = "S1234") -> dict[str, Any]:
    """``POST /patients`` body of patient ``i``, its earliest collection spread."""
    p = patient(run, i, product_code)
    return {
        "name": p.name,
        "birth_date": p.birth_date,
        "medical_record_number": p.mrn,
        "therapy": p.therapy,
        "product_code": p.product_code,
        "autologous": True,
        "treatment_center": p.treatment_center,
        "apheresis_center": p.apheresis_center,
        "manufacturing_site": p.manufacturing_site,
        "patient_weight_kg": p.weight_kg,
        "earliest_collection": earliest_collection(i).isoformat(),
    }
