"""Settings of the qc service (environment variables, prefix V2V_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from v2v_runtime.service import ServiceSettings


class QcSettings(ServiceSettings):
    service: str = "qc"
    database_url: str = "sqlite+aiosqlite:///./.v2v/db/qc.sqlite"
    http_port: int = 8104
    spec_dir: Path | None = Field(
        None,
        description="directory of product specification files (<product_code>.v<n>.json) "
        "used instead of the packaged ones",
    )
    raised_deviations: Path | None = Field(
        None,
        description="the classes of the deviations QC raises from other services' events "
        "(custody mismatch, shipment excursion, material out of status, missed deadlines) "
        "used instead of the packaged policy/raised-deviations.json",
    )
