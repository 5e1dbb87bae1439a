"""Domain events of master batch records (stream ``mbr-<product code>@<site>``: every
version of one product's MBR at one site)."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from v2v_runtime.domain import DomainEvent

from .events import Operator
from .mbr_content import MbrContent


class MbrVersionDrafted(DomainEvent):
    kind = "mbr-drafted"

    product_code: str
    site: str
    version: int = Field(ge=1)
    content: MbrContent
    drafted_by: Operator
    drafted_at: AwareDatetime


class MbrVersionRevised(DomainEvent):
    """The draft's content replaced (a draft is not yet a GMP record: no reason asked)."""

    kind = "mbr-revised"

    version: int = Field(ge=1)
    content: MbrContent
    revised_by: Operator
    revised_at: AwareDatetime


class MbrVersionSubmitted(DomainEvent):
    kind = "mbr-submitted"

    version: int = Field(ge=1)
    submitted_by: Operator
    submitted_at: AwareDatetime


class MbrVersionReturned(DomainEvent):
    """The quality unit sent a version in review back to draft, saying why."""

    kind = "mbr-returned"

    version: int = Field(ge=1)
    reason: str
    returned_by: Operator
    returned_at: AwareDatetime


class MbrVersionApproved(DomainEvent):
    """QA approved the version as signed (meaning approved); the signature follows in the
    stream."""

    kind = "mbr-approved"

    version: int = Field(ge=1)
    content_hash: str
    approved_by: Operator
    approved_at: AwareDatetime
    signature_id: str


class MbrChangeControlApproved(DomainEvent):
    """QC approved a change control naming this version (its public
    qc.change-control.approved): the version becomes effective once QA has approved it.
    Carries the product and site: it may come before the MBR's first draft."""

    kind = "mbr-change-control-approved"

    product_code: str
    site: str
    version: int = Field(ge=1)
    change_control_id: str
    approved_by: Operator  # QC's approver (signed there)
    approved_at: AwareDatetime
    noted_at: AwareDatetime


class MbrVersionEffective(DomainEvent):
    """From now on batches opened for the product at the site pin this version; the one
    effective before is superseded (batches that pinned it keep it). ``change_control_id``:
    the approved change control it took effect through (None: made effective by QA's act
    alone, before change control existed)."""

    kind = "mbr-effective"

    version: int = Field(ge=1)
    effective_at: AwareDatetime
    made_effective_by: Operator
    superseded_version: int | None = None
    change_control_id: str | None = None


class MbrVersionRetired(DomainEvent):
    kind = "mbr-retired"

    version: int = Field(ge=1)
    reason: str
    retired_by: Operator
    retired_at: AwareDatetime


MBR_EVENTS: tuple[type[DomainEvent], ...] = (
    MbrVersionDrafted,
    MbrVersionRevised,
    MbrVersionSubmitted,
    MbrVersionReturned,
    MbrVersionApproved,
    MbrVersionEffective,
    MbrVersionRetired,
    MbrChangeControlApproved,
)
