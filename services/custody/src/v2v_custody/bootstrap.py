"""Composition root of the custody service."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from v2v_runtime.audit_trail_query import AuditTrailSpec
from v2v_runtime.authz import Roles
from v2v_runtime.clock import Clock, IdGenerator, SystemClock, UuidGenerator
from v2v_runtime.repository import Persistence
from v2v_runtime.service import ServiceSpec

from .adapters.config import load_sites, load_thaw_limits
from .adapters.db.audit_trail import CustodyAuditScope
from .adapters.db.identity import EnrolmentGuard
from .adapters.db.projector import CODEC, project
from .adapters.db.queries import LotUnitsReadModel
from .adapters.db.sequences import SequenceCounters
from .adapters.db.tables import READ_MODELS, patient_identity
from .adapters.http.routes import build_router
from .adapters.http.thaw_routes import build_thaw_router
from .adapters.kafka.handlers import HANDLERS, SUBSCRIBED_TOPICS
from .application.ports import Enrolments, LotUnits, Sequences
from .application.read_identity import IdentityInTrail
from .domain.sites import SiteDirectory
from .settings import CustodySettings

MIGRATIONS = Path(__file__).resolve().parent / "adapters" / "db" / "migrations" / "versions"

PERSISTENCE = Persistence(
    codec=CODEC,
    projector=project,
    # What a rebuild empties and replays: the read models and the identity projection
    # (the sequences are not derived from events: a rebuild leaves them alone).
    read_tables=(*reversed(READ_MODELS), patient_identity),
    ports={
        Sequences: SequenceCounters,
        Enrolments: EnrolmentGuard,
        LotUnits: LotUnitsReadModel,
    },
)
# GET /audit-trail: the coordinator reviews the center's records (identity included, each
# read recorded); other readers get identity values as "[identity]".
AUDIT_TRAIL = AuditTrailSpec(
    scope=CustodyAuditScope,
    supervisors=(Roles.TREATMENT_CENTER_COORDINATOR,),
    identity=IdentityInTrail(),
)


def build(
    settings: CustodySettings | None = None,
    *,
    sites: SiteDirectory | None = None,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
) -> ServiceSpec:
    settings = settings or CustodySettings()
    sites = sites or load_sites(settings.sites_config)
    # The site's rules, with each product's thaw-to-infusion limit (products configuration).
    policy = replace(
        settings.policy, thaw_limits_by_product=load_thaw_limits(settings.products_config)
    )
    return ServiceSpec(
        name="custody",
        settings=settings,
        migrations=[MIGRATIONS],
        routers=[build_router(policy, sites), build_thaw_router(policy)],
        handlers=HANDLERS,
        subscribed_topics=list(SUBSCRIBED_TOPICS),
        title="vein2vein custody",
        clock=clock or SystemClock(),
        ids=ids or UuidGenerator(),
        persistence=PERSISTENCE,
        audit_trail=AUDIT_TRAIL,
    )
