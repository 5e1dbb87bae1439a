"""How every vein2vein process winds down: SIGTERM (Kubernetes, Compose, `v2v down`) or
SIGINT (a terminal) sets one event; the process then stops its servers and consumers in
order instead of dying mid-transaction."""

from __future__ import annotations

import asyncio
import signal


def stop_on_signals() -> asyncio.Event:
    """An event set on SIGTERM or SIGINT (handlers on the running loop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop
