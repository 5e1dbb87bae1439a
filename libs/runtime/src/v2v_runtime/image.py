"""The entrypoint of every vein2vein image: ``python -m v2v_runtime.image [ROLE ...]``.

One Dockerfile builds every service; its ``SERVICE`` build argument lands in
``V2V_IMAGE_SERVICE`` and ``DEFAULT_ROLE`` in ``V2V_IMAGE_DEFAULT_ROLE``. This runs
``python -m v2v_<service> ROLE ...`` in-process (PID 1 stays Python: signals reach it).
"""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Sequence

SERVICES = ("custody", "logistics", "batch", "qc", "journey")


def main(argv: Sequence[str] | None = None) -> None:
    service = os.environ.get("V2V_IMAGE_SERVICE", "")
    if service not in SERVICES:
        raise SystemExit(
            f"V2V_IMAGE_SERVICE must be one of {', '.join(SERVICES)} (got {service!r}); "
            "build the image with --build-arg SERVICE=<service>"
        )
    args = list(argv if argv is not None else sys.argv[1:])
    if not args:
        args = [os.environ.get("V2V_IMAGE_DEFAULT_ROLE") or "all"]
    sys.argv = [f"v2v_{service}", *args]
    runpy.run_module(f"v2v_{service}", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
