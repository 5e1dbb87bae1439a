"""Composition root of the qc service."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from v2v_events.catalog import events_topic
from v2v_runtime.audit_trail_query import AuditTrailSpec
from v2v_runtime.authz import Roles
from v2v_runtime.clock import Clock, IdGenerator, SystemClock, UuidGenerator
from v2v_runtime.repository import EventCodec, Persistence
from v2v_runtime.service import ServiceSpec

from .adapters.config import (
    load_deviation_policy,
    load_release_policy,
    load_routing,
    load_specs,
)
from .adapters.db.audit_trail import QcAuditScope
from .adapters.db.batch_lots import SqlBatchLots
from .adapters.db.change_controls import SqlChangeControls
from .adapters.db.exceptional_releases import EXCEPTIONAL_TABLES
from .adapters.db.holds import SqlActiveHolds
from .adapters.db.notification_queries import SqlNotificationQueue, directory
from .adapters.db.notification_tables import NOTIFICATION_TABLES
from .adapters.db.projector import project
from .adapters.db.tables import READ_TABLES
from .adapters.db.trail_heads import SqlTrailHeads
from .adapters.http.change_controls import change_control_router
from .adapters.http.deviation_lifecycle import deviation_lifecycle_router
from .adapters.http.deviations import deviations_router
from .adapters.http.exceptional_release import exceptional_release_router
from .adapters.http.holds import holds_router
from .adapters.http.notifications import notifications_router
from .adapters.http.panels import panels_router
from .adapters.http.quality import quality_router
from .adapters.http.release import release_router
from .adapters.http.trail_review import trail_review_router
from .adapters.kafka.handlers import handlers
from .adapters.notify.loop import DeliveryLoop
from .adapters.notify.settings import MailSettings
from .adapters.raising_policy import load_raising_policy
from .application.change_control_ports import ChangeControls
from .application.ports import (
    ActiveHolds,
    BatchLots,
    NotificationDirectory,
    NotificationQueue,
    TrailHeads,
)
from .domain.batch_record import BATCH_RECORD_EVENTS
from .domain.change_control_events import CHANGE_CONTROL_EVENTS
from .domain.deviation_events import LIFECYCLE_EVENTS
from .domain.deviation_policy import DeviationPolicy
from .domain.events import DOMAIN_EVENTS
from .domain.exceptional_release import EXCEPTIONAL_RELEASE_EVENTS, SiteRegions
from .domain.hold import HOLD_EVENTS
from .domain.notification_events import NOTIFICATION_EVENTS
from .domain.notification_routing import Routing
from .domain.patient_center import PATIENT_EVENTS
from .domain.raising import RaisingPolicy
from .domain.release_policy import ReleasePolicy
from .domain.retained_material import RETAINED_EVENTS
from .domain.spec import SpecCatalog
from .domain.trail_review import TrailReviewed
from .settings import QcSettings

MIGRATIONS = Path(__file__).resolve().parent / "adapters" / "db" / "migrations" / "versions"

# Stored as qc.<kind>; the projector keeps the read tables current in the same
# transaction, and a rebuild (python -m v2v_qc rebuild) replays the store into them.
PERSISTENCE = Persistence(
    codec=EventCodec(
        "qc",
        (
            *DOMAIN_EVENTS,
            *LIFECYCLE_EVENTS,
            *HOLD_EVENTS,
            *NOTIFICATION_EVENTS,
            TrailReviewed,
            *CHANGE_CONTROL_EVENTS,
            *EXCEPTIONAL_RELEASE_EVENTS,
            *RETAINED_EVENTS,
            *BATCH_RECORD_EVENTS,
            *PATIENT_EVENTS,
        ),
    ),
    projector=project,
    read_tables=(*READ_TABLES, *NOTIFICATION_TABLES, *EXCEPTIONAL_TABLES),
    ports={
        TrailHeads: SqlTrailHeads,
        BatchLots: SqlBatchLots,
        ChangeControls: SqlChangeControls,
        ActiveHolds: SqlActiveHolds,
        NotificationQueue: SqlNotificationQueue,
        # the packaged routing (to nobody) until build() binds the site's
        NotificationDirectory: directory(load_routing()),
    },
)
# GET /audit-trail: the QC reviewer reviews QC's records besides QA, the QP and auditors.
AUDIT_TRAIL = AuditTrailSpec(scope=QcAuditScope, supervisors=(Roles.QC_REVIEWER,))


def build(
    settings: QcSettings | None = None,
    *,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    specs: SpecCatalog | None = None,
    policy: DeviationPolicy | None = None,
    raising: RaisingPolicy | None = None,
    routing: Routing | None = None,
    mail: MailSettings | None = None,
    release: ReleasePolicy | None = None,
) -> ServiceSpec:
    s = settings or QcSettings()
    catalog = specs or load_specs(s.spec_dir)
    deviations = policy or load_deviation_policy(s.deviation_policy)
    raised = raising or load_raising_policy(s.raised_deviations)
    notifications = routing or load_routing(s.notification_routing)
    releasing = release or load_release_policy(s.release_policy)
    regions = SiteRegions(default=s.default_region, regions=s.site_regions)
    persistence = replace(
        PERSISTENCE,
        ports={**PERSISTENCE.ports, NotificationDirectory: directory(notifications)},
    )
    return ServiceSpec(
        name="qc",
        settings=s,
        migrations=[MIGRATIONS],
        routers=[
            panels_router(catalog),
            quality_router(releasing),
            release_router(releasing),
            deviations_router(deviations),
            deviation_lifecycle_router(deviations),
            holds_router(),
            trail_review_router(),
            change_control_router(catalog),
            notifications_router(),
            exceptional_release_router(regions),
        ],
        handlers=handlers(catalog, raised, s.late_infusion_deviation_classification),
        # batch: its lots, exceptions, instruments, rooms and material lots; custody: its
        # audit-trail heads (QA's review before release), refused receipts and infusions (a
        # late one); logistics: deliveries (excursions); the journey: missed deadlines — the
        # deviations QC raises by itself
        subscribed_topics=[
            events_topic("batch"),
            events_topic("custody"),
            events_topic("logistics"),
            events_topic("journey"),
        ],
        title="vein2vein qc: release testing and QA release",
        clock=clock or SystemClock(),
        ids=ids or UuidGenerator(),
        persistence=persistence,
        audit_trail=AUDIT_TRAIL,
        # delivers notifications and escalates unacknowledged ones (beside the relay)
        background=[
            DeliveryLoop(
                notifications, mail or MailSettings.of_service(), s.notification_interval_s
            )
        ],
    )
