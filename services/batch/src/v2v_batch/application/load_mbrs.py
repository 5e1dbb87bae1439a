"""Seed master batch records from files (``mbrs/*.json`` in the package, or others): each
becomes a draft version of its product's MBR at the site, attributed to the loader, unless
a version with the same content exists there already. A draft still goes through review,
QA's signed approval and being made effective, like any MBR authored through the API.

File format ``v2v-batch-mbr/1``: ``{"format", "product_code", "content"}`` — the body of
``POST /mbrs`` without the site."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from v2v_events.contracts.common import Actor
from v2v_runtime.errors import DomainError
from v2v_runtime.uow import UnitOfWork

from ..domain.mbr import MasterBatchRecord, mbr_stream
from ..domain.mbr_content import MbrContent, check_content
from ..domain.product import PRODUCT_CODE_PATTERN
from .mbr_authoring import draft_mbr

SEEDS = Path(__file__).resolve().parent.parent / "mbrs"
LOADER = Actor(user_id="v2v-mbr-seed", role="system")


class SeedFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["v2v-batch-mbr/1"]
    product_code: str = Field(pattern=PRODUCT_CODE_PATTERN)
    content: MbrContent


class SeedError(ValueError):
    """A seed file that cannot be read or is not a valid MBR (naming the field)."""


@dataclass(frozen=True)
class Seeded:
    product_code: str
    version: int
    drafted: bool  # False: that content was there already


def read_seed(path: Path) -> SeedFile:
    try:
        seed = SeedFile.model_validate(json.loads(path.read_text(encoding="utf-8")))
        check_content(seed.content)
    except (OSError, ValueError) as exc:  # ValidationError is a ValueError
        raise SeedError(f"{path}: {exc}") from exc
    except DomainError as exc:
        raise SeedError(f"{path}: {exc.code}: {exc.detail}") from exc
    return seed


def seed_files(directory: Path = SEEDS) -> list[Path]:
    return sorted(directory.glob("*.json"))


async def load_seed(uow: UnitOfWork, seed: SeedFile, site: str, actor: Actor = LOADER) -> Seeded:
    found = await uow.repository(MasterBatchRecord).find(mbr_stream(seed.product_code, site))
    digest = seed.content.content_hash()
    if found is not None:
        for v in found.versions.values():
            if v.content.content_hash() == digest:
                return Seeded(seed.product_code, v.version, drafted=False)
    drafted = await draft_mbr(uow, seed.product_code, site, seed.content, actor)
    return Seeded(seed.product_code, drafted.version, drafted=True)
