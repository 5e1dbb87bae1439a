"""Composition root of the logistics service."""

from __future__ import annotations

from pathlib import Path

from v2v_events.catalog import Service, events_topic
from v2v_runtime.audit_trail_query import AuditTrailSpec
from v2v_runtime.authz import Roles
from v2v_runtime.clock import Clock, IdGenerator
from v2v_runtime.repository import Persistence
from v2v_runtime.service import ServiceSpec

from .adapters.config import load_network
from .adapters.db.audit_trail import LogisticsAuditScope
from .adapters.db.projector import CODEC, project
from .adapters.db.queries import SqlBookingIndex
from .adapters.db.tables import READ_MODELS
from .adapters.http.routes import build_router
from .adapters.kafka.handlers import build_handlers
from .application.ports import BookingIndex
from .domain.network import NetworkConfig
from .settings import LogisticsSettings

MIGRATIONS = Path(__file__).resolve().parent / "adapters" / "db" / "migrations" / "versions"
PERSISTENCE = Persistence(
    codec=CODEC,
    projector=project,
    read_tables=READ_MODELS,
    ports={BookingIndex: SqlBookingIndex},
)
# GET /audit-trail: the logistics coordinator reviews logistics' records besides QA, the QP
# and auditors.
AUDIT_TRAIL = AuditTrailSpec(scope=LogisticsAuditScope, supervisors=(Roles.LOGISTICS_COORDINATOR,))


def build(
    settings: LogisticsSettings | None = None,
    *,
    network: NetworkConfig | None = None,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
) -> ServiceSpec:
    settings = settings or LogisticsSettings()
    network = network or load_network(settings.network_config)
    spec = ServiceSpec(
        name="logistics",
        settings=settings,
        migrations=[MIGRATIONS],
        routers=[build_router(network, settings.reported_times)],
        handlers=build_handlers(network),
        subscribed_topics=[events_topic(Service.QC)],  # QC's holds on units
        title="vein2vein logistics",
        persistence=PERSISTENCE,
        audit_trail=AUDIT_TRAIL,
    )
    if clock is not None:
        spec.clock = clock
    if ids is not None:
        spec.ids = ids
    return spec
