"""Custody's site directory and the logistics network name the same sites: an enrolment
custody accepts must name sites logistics can book (no stack needed)."""

from __future__ import annotations

from v2v_custody.adapters.config import load_sites
from v2v_logistics.adapters.config import load_network


def test_custody_and_logistics_know_the_same_sites() -> None:
    sites, network = load_sites(), load_network()
    assert sites.treatment_centers == set(network.treatment_centers)
    assert sites.apheresis_centers == set(network.apheresis_centers)
    assert sites.manufacturing_sites == set(network.manufacturing_sites)
