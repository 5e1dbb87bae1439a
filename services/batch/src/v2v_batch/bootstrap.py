"""Composition root of the batch service."""

from __future__ import annotations

from pathlib import Path

from v2v_runtime.audit_trail_query import AuditTrailSpec
from v2v_runtime.authz import Roles
from v2v_runtime.clock import Clock, IdGenerator, SystemClock, UuidGenerator
from v2v_runtime.holds import HOLD_EVENTS
from v2v_runtime.repository import EventCodec, Persistence
from v2v_runtime.service import ServiceSpec

from .adapters.config import load_catalog
from .adapters.db.audit_trail import BatchAuditScope
from .adapters.db.em_tables import EM_TABLES
from .adapters.db.equipment_tables import EQUIPMENT_TABLES
from .adapters.db.material_tables import MATERIAL_TABLES
from .adapters.db.mbr_tables import MBR_READ_TABLES
from .adapters.db.ports import SqlLotIndex, SqlMaterialGenealogy, SqlRoomSteps
from .adapters.db.projector import project
from .adapters.db.tables import READ_TABLES
from .adapters.em_config import load_programme
from .adapters.freezing_profiles import load_profiles
from .adapters.http.environment import environment_router
from .adapters.http.equipment import equipment_router
from .adapters.http.execution import build_execution_router
from .adapters.http.freezer_runs import build_freezer_run_router
from .adapters.http.materials import materials_router
from .adapters.http.mbrs import build_mbr_router
from .adapters.http.routes import build_router
from .adapters.http.training import training_router
from .adapters.kafka.handlers import SUBSCRIBED_TOPICS, build_handlers
from .application.ports import LotIndex, MaterialGenealogy, RoomSteps
from .application.register_gates import RegisterGates
from .application.step_gates import StepGates
from .domain.equipment_events import EQUIPMENT_EVENTS
from .domain.events import DOMAIN_EVENTS
from .domain.execution_events import EXECUTION_EVENTS
from .domain.freezer_run_events import FREEZER_RUN_EVENTS
from .domain.material_events import MATERIAL_EVENTS
from .domain.mbr_events import MBR_EVENTS
from .domain.room_events import ROOM_EVENTS
from .domain.training_events import TRAINING_EVENTS
from .settings import BatchSettings

MIGRATIONS = Path(__file__).resolve().parent / "adapters" / "db" / "migrations" / "versions"

# Stored as batch.<kind>; the projector keeps the read tables current in the same
# transaction, and a rebuild (python -m v2v_batch rebuild) replays the store into them.
PERSISTENCE = Persistence(
    codec=EventCodec(
        "batch",
        (
            *DOMAIN_EVENTS,
            *MATERIAL_EVENTS,
            *EQUIPMENT_EVENTS,
            *TRAINING_EVENTS,
            *MBR_EVENTS,
            *EXECUTION_EVENTS,
            *FREEZER_RUN_EVENTS,
            *ROOM_EVENTS,
            *HOLD_EVENTS,  # QC's holds on material lots (v2v_runtime.holds)
        ),
    ),
    projector=project,
    read_tables=(
        *EM_TABLES,
        *READ_TABLES,
        *MATERIAL_TABLES,
        *EQUIPMENT_TABLES,
        *MBR_READ_TABLES,
    ),
    ports={
        LotIndex: SqlLotIndex,
        RoomSteps: SqlRoomSteps,
        MaterialGenealogy: SqlMaterialGenealogy,
    },
)
# GET /audit-trail: the manufacturing supervisor reviews the batch records besides QA, the
# QP and auditors.
AUDIT_TRAIL = AuditTrailSpec(scope=BatchAuditScope, supervisors=(Roles.MANUFACTURING_SUPERVISOR,))


def build(
    settings: BatchSettings | None = None,
    *,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    gates: StepGates | None = None,
) -> ServiceSpec:
    settings = settings or BatchSettings()
    catalog = load_catalog(settings.products_config)
    profiles = load_profiles(settings.freezing_profiles_config)
    programme = load_programme(settings.em_config)
    gates = gates or RegisterGates(settings.reported_times)
    return ServiceSpec(
        name="batch",
        settings=settings,
        migrations=[MIGRATIONS],
        routers=[
            build_router(catalog, settings.reported_times, gates),
            materials_router(),
            equipment_router(settings.reported_times),
            training_router(settings.reported_times),
            environment_router(programme, settings.reported_times),
            build_mbr_router(),
            build_execution_router(
                settings.reported_times, gates or RegisterGates(settings.reported_times)
            ),
            build_freezer_run_router(profiles, settings.reported_times),
        ],
        handlers=build_handlers(catalog),
        subscribed_topics=list(SUBSCRIBED_TOPICS),
        title="vein2vein batch (manufacturing)",
        clock=clock or SystemClock(),
        ids=ids or UuidGenerator(),
        persistence=PERSISTENCE,
        audit_trail=AUDIT_TRAIL,
    )
