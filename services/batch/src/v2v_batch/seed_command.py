"""The ``load-mbrs`` command: seed MBR files into the batch service's store as drafts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from v2v_runtime.service import ServiceKit, ServiceSpec

from .application.load_mbrs import Seeded, SeedError, load_seed, read_seed, seed_files


async def load_mbrs(spec: ServiceSpec, site: str, files: Sequence[Path]) -> list[Seeded]:
    """Migrate, then load each file in its own transaction."""
    seeds = [read_seed(f) for f in files]  # every file valid before any is loaded
    kit = ServiceKit(spec)
    try:
        await kit.migrate()
        loaded = []
        for seed in seeds:
            async with kit.uow() as uow:
                loaded.append(await load_seed(uow, seed, site))
        return loaded
    finally:
        await kit.engine.dispose()


def load_mbrs_command(build: Callable[[], ServiceSpec], args: Sequence[str]) -> None:
    if not args:
        raise SystemExit("usage: python -m v2v_batch load-mbrs SITE [FILE ...]")
    site, files = args[0], [Path(a) for a in args[1:]] or seed_files()
    try:
        loaded = asyncio.run(load_mbrs(build(), site, files))
    except SeedError as exc:
        raise SystemExit(str(exc)) from None
    for s in loaded:
        state = "drafted" if s.drafted else "already there as"
        print(f"{s.product_code} at {site}: {state} version {s.version}", flush=True)
