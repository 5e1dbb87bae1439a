"""A batch pins the MBR version effective for its product at its site when it opens, and
keeps it; the MBR content a pinned batch is executed against."""

from __future__ import annotations

import re

from v2v_runtime.errors import Conflict
from v2v_runtime.uow import UnitOfWork

from ..domain import Batch
from ..domain.mbr import MasterBatchRecord, mbr_stream
from ..domain.mbr_content import MbrContent
from ..domain.product import PRODUCT_CODE_PATTERN


async def pin_effective_mbr(uow: UnitOfWork, batch: Batch) -> None:
    """Pin the effective version, if the product has ever had one at the batch's site (a
    product that never had one keeps the fixed process steps; one whose MBRs are all
    retired or superseded without successor is refused: 409 no-effective-mbr)."""
    code = batch.product_code
    if code is None or not re.fullmatch(PRODUCT_CODE_PATTERN, code):
        return
    mbr = await uow.repository(MasterBatchRecord).find(mbr_stream(code, batch.manufacturing_site))
    if mbr is None or not mbr.ever_effective:
        return
    effective = mbr.effective
    if effective is None:
        raise Conflict(
            "no-effective-mbr",
            f"product {code} at {batch.manufacturing_site} has no effective master batch record",
        )
    batch.pin_mbr(
        product_code=code,
        site=batch.manufacturing_site,
        version=effective.version,
        content=effective.content,
    )


async def pinned_content(uow: UnitOfWork, batch: Batch) -> MbrContent | None:
    """The content of the MBR version the batch pinned (None: the fixed process steps)."""
    pin = batch.pinned
    if pin is None:
        return None
    mbr = await uow.repository(MasterBatchRecord).get(mbr_stream(pin.product_code, pin.site))
    return mbr.version_of(pin.version).content
