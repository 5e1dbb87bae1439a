"""The container health probe (`python -m v2v_runtime.healthcheck`) against a real HTTP
server on a free port."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from v2v_runtime import healthcheck


class Handler(BaseHTTPRequestHandler):
    status = 200
    delay = 0.0

    def do_GET(self) -> None:
        time.sleep(self.delay)
        code = self.status if self.path == "/healthz" else 404
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status":"ok"}')

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        return None


def serve(status: int = 200, delay: float = 0.0) -> Iterator[int]:
    handler = type("H", (Handler,), {"status": status, "delay": delay})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def healthy() -> Iterator[int]:
    yield from serve(200)


@pytest.fixture
def failing() -> Iterator[int]:
    yield from serve(503)


@pytest.fixture
def hanging() -> Iterator[int]:
    yield from serve(200, delay=10.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_port_prefers_health_port_then_http_port_then_8080() -> None:
    assert healthcheck.health_port({"V2V_HEALTH_PORT": "8081", "V2V_HTTP_PORT": "8080"}) == 8081
    assert healthcheck.health_port({"V2V_HEALTH_PORT": "", "V2V_HTTP_PORT": "9000"}) == 9000
    assert healthcheck.health_port({}) == 8080
    with pytest.raises(ValueError, match="not a TCP port"):
        healthcheck.health_port({"V2V_HTTP_PORT": "70000"})


def test_healthy_server_exits_0(healthy: int) -> None:
    assert healthcheck.main([], {"V2V_HTTP_PORT": str(healthy)}) == 0
    # The health port wins over the API port (roles without the API).
    env = {"V2V_HEALTH_PORT": str(healthy), "V2V_HTTP_PORT": str(free_port())}
    assert healthcheck.main([], env) == 0


def test_non_200_exits_1(failing: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert healthcheck.main([], {"V2V_HTTP_PORT": str(failing)}) == 1
    assert "answered 503" in capsys.readouterr().err


def test_nothing_listening_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert healthcheck.main([], {"V2V_HEALTH_PORT": str(free_port())}) == 1
    assert "unreachable" in capsys.readouterr().err


def test_bad_port_setting_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert healthcheck.main([], {"V2V_HTTP_PORT": "eighty"}) == 1
    assert "healthcheck:" in capsys.readouterr().err


def test_hung_server_fails_within_about_3_s(hanging: int) -> None:
    started = time.monotonic()
    assert healthcheck.main([], {"V2V_HTTP_PORT": str(hanging)}) == 1
    assert time.monotonic() - started < 3.5


def test_runs_as_module_like_the_image_healthcheck(healthy: int) -> None:
    env = {"V2V_HTTP_PORT": str(healthy), "HTTP_PROXY": "http://127.0.0.1:9", "PATH": ""}
    ok = subprocess.run(
        [sys.executable, "-m", "v2v_runtime.healthcheck"], env=env, timeout=10, check=False
    )
    assert ok.returncode == 0  # the proxy variable is ignored for the loopback probe
    env["V2V_HTTP_PORT"] = str(free_port())
    down = subprocess.run(
        [sys.executable, "-m", "v2v_runtime.healthcheck"],
        env=env,
        timeout=10,
        check=False,
        capture_output=True,
        text=True,
    )
    assert down.returncode == 1
    assert "unreachable" in down.stderr
