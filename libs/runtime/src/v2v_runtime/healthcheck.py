"""Container health probe, run by the images' HEALTHCHECK:

    python -m v2v_runtime.healthcheck

Exits 0 when ``GET http://127.0.0.1:<port>/healthz`` answers 200, 1 otherwise, within about
three seconds. The port is ``V2V_HEALTH_PORT`` when set (the roles without the API serve
/healthz there: consumer, relay, worker, bridge), else ``V2V_HTTP_PORT`` (the API), else 8080.

Standard library only, on purpose: the probe runs every few seconds in every container, so it
must start fast and must not depend on the service's own imports working.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence

DEFAULT_PORT = 8080
# Per socket operation; a refused connection fails at once, a hung server after this.
TIMEOUT_S = 2.5


def health_port(env: Mapping[str, str]) -> int:
    """The port to probe: V2V_HEALTH_PORT, else V2V_HTTP_PORT, else 8080."""
    for name in ("V2V_HEALTH_PORT", "V2V_HTTP_PORT"):
        value = env.get(name, "").strip()
        if value:
            port = int(value)
            if not 0 < port < 65536:
                raise ValueError(f"{name}={value} is not a TCP port")
            return port
    return DEFAULT_PORT


def probe(port: int, *, host: str = "127.0.0.1", timeout: float = TIMEOUT_S) -> str | None:
    """None when /healthz answers 200, else why not."""
    url = f"http://{host}:{port}/healthz"
    # No proxies: HTTP(S)_PROXY in a container's environment must not reroute a loopback probe.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return f"{url} answered {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return f"{url} unreachable: {reason}"
    return None if status == 200 else f"{url} answered {status}"


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    del argv  # no options: everything comes from the environment, like the service itself
    environ = os.environ if env is None else env
    try:
        port = health_port(environ)
    except ValueError as exc:
        print(f"healthcheck: {exc}", file=sys.stderr)
        return 1
    problem = probe(port)
    if problem is not None:
        print(f"healthcheck: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
