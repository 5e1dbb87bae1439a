"""Composition root of the batch service."""

from __future__ import annotations

from pathlib import Path

from v2v_runtime.clock import Clock, IdGenerator, SystemClock, UuidGenerator
from v2v_runtime.service import ServiceSpec

from .adapters.http.routes import build_router
from .adapters.kafka.handlers import SUBSCRIBED_TOPICS, build_handlers
from .config import load_catalog
from .settings import BatchSettings

MIGRATIONS = Path(__file__).resolve().parent / "adapters" / "db" / "migrations" / "versions"


def build(
    settings: BatchSettings | None = None,
    *,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
) -> ServiceSpec:
    settings = settings or BatchSettings()
    catalog = load_catalog(settings.products_config)
    return ServiceSpec(
        name="batch",
        settings=settings,
        migrations=[MIGRATIONS],
        routers=[build_router(catalog, settings.reported_times)],
        handlers=build_handlers(catalog),
        subscribed_topics=list(SUBSCRIBED_TOPICS),
        title="vein2vein batch (manufacturing)",
        clock=clock or SystemClock(),
        ids=ids or UuidGenerator(),
    )
