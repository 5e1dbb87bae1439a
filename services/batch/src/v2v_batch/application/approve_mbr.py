"""QA approves an MBR version in review, signed (meaning approved): the content it signs
names the version, its content hash and its steps. Never by one of its authors. A version
whose change control QC approved already becomes effective with it."""

from __future__ import annotations

from v2v_runtime.uow import UnitOfWork

from ..domain.mbr import MasterBatchRecord, mbr_stream
from .common import operator
from .mbr_change_control import mbr_implemented
from .ports import Sign


async def approve_mbr(
    uow: UnitOfWork, product_code: str, site: str, version: int, sign: Sign
) -> None:
    repo = uow.repository(MasterBatchRecord)
    mbr = await repo.get(mbr_stream(product_code, site))
    # Refused before signing when not in review; whether the signer authored it is known
    # once they have signed (another person than the session's may sign).
    v = mbr.check_approval(version)
    content = v.content
    signed = await sign(
        f"I approve version {version} of the master batch record {content.title!r} for "
        f"product {product_code} at {site}.",
        {
            "product_code": product_code,
            "site": site,
            "version": version,
            "title": content.title,
            "content_hash": content.content_hash(),
            "steps": [s.step_id for s in content.steps],
        },
    )
    by, now = operator(signed.actor), uow.clock.now()
    mbr.approve(version, by=by, at=now, signature_id=signed.signature_id)
    effective = mbr.take_effect(version, by=by, at=now)
    await repo.save(mbr, signed.who)
    if effective:
        await mbr_implemented(uow, mbr, version)
