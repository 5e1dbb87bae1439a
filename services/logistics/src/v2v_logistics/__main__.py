"""``python -m v2v_logistics [api|consumer|relay|all]``: run the logistics service's roles.

``python -m v2v_logistics rebuild-read-models`` empties the read-model tables and replays
the event store into them (after a projection change).
"""

import asyncio
import sys

from v2v_runtime.service import ServiceKit, main

from .application.rebuild import rebuild_read_models
from .bootstrap import build


async def _rebuild() -> None:
    kit = ServiceKit(build())
    try:
        await kit.migrate()
        async with kit.uow() as uow:
            count = await rebuild_read_models(uow)
        print(f"logistics read models rebuilt from {count} events", flush=True)
    finally:
        await kit.engine.dispose()


if __name__ == "__main__":
    if sys.argv[1:] == ["rebuild-read-models"]:
        asyncio.run(_rebuild())
    else:
        main(build)
