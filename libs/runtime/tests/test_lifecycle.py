"""Every process (services and the journey) winds down on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from v2v_runtime.lifecycle import stop_on_signals


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_termination_signal_asks_the_process_to_stop(sig: signal.Signals) -> None:
    loop = asyncio.get_running_loop()
    stop = stop_on_signals()
    try:
        assert not stop.is_set()
        os.kill(os.getpid(), sig)
        await asyncio.wait_for(stop.wait(), timeout=5)
    finally:
        for s in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(s)
