"""Settings of the qc service (environment variables, prefix V2V_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from v2v_events.contracts.exceptional_release import Region
from v2v_runtime.service import ServiceSettings

from .domain.events import Classification


class QcSettings(ServiceSettings):
    service: str = "qc"
    database_url: str = "sqlite+aiosqlite:///./.v2v/db/qc.sqlite"
    http_port: int = 8104
    spec_dir: Path | None = Field(
        None,
        description="directory of product specification files (<product_code>.v<n>.json) "
        "used instead of the packaged ones",
    )
    # The classification a late infusion's deviation (thaw-to-infusion limit exceeded) is
    # opened with; QA classifies it.
    late_infusion_deviation_classification: Classification = Classification.MAJOR
    deviation_policy: Path | None = Field(
        None,
        description="the deviation policy file (closure targets, holidays, the report's "
        "clock, root-cause categories) used instead of the packaged one",
    )
    raised_deviations: Path | None = Field(
        None,
        description="the classes of the deviations QC raises from other services' events "
        "(custody mismatch, shipment excursion, material out of status, missed deadlines) "
        "used instead of the packaged policy/raised-deviations.json",
    )
    notification_routing: Path | None = Field(
        None,
        description="the notification routing file (recipients per role and site, webhooks, "
        "escalation chains and acknowledgement windows, retries) used instead of the "
        "packaged one, which routes to nobody",
    )
    release_policy: Path | None = Field(
        None,
        description="the release policy file (per site: requires_qp_certification) used "
        "instead of the packaged policy/release.json (no site requires it)",
    )
    notification_interval_s: float = Field(
        5.0, gt=0, le=300, description="how often the delivery loop looks for due work"
    )
    default_region: Region = Field(
        Region.EU,
        description="the regulatory region (EU, US) of a manufacturing site not named in "
        "site_regions: what an exceptional release owes the authority",
    )
    site_regions: dict[str, Region] = Field(
        default_factory=dict,
        description='each manufacturing site\'s region, JSON: {"manufacturing-site-2": "US"}',
    )
