"""Composition root of the qc service."""

from __future__ import annotations

from pathlib import Path

from v2v_events.catalog import events_topic
from v2v_runtime.clock import Clock, IdGenerator, SystemClock, UuidGenerator
from v2v_runtime.service import ServiceSpec

from .adapters.http.panels import panels_router
from .adapters.http.quality import quality_router
from .adapters.kafka.handlers import handlers
from .adapters.spec_files import load_specs
from .domain.spec import SpecCatalog
from .settings import QcSettings

MIGRATIONS = Path(__file__).resolve().parent / "adapters" / "db" / "migrations" / "versions"


def build(
    settings: QcSettings | None = None,
    *,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    specs: SpecCatalog | None = None,
) -> ServiceSpec:
    s = settings or QcSettings()
    catalog = specs or load_specs(s.spec_dir)
    return ServiceSpec(
        name="qc",
        settings=s,
        migrations=[MIGRATIONS],
        routers=[panels_router(catalog), quality_router()],
        handlers=handlers(catalog),
        subscribed_topics=[events_topic("batch")],
        title="vein2vein qc: release testing and QA release",
        clock=clock or SystemClock(),
        ids=ids or UuidGenerator(),
    )
