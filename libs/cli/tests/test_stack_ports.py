"""Ports: the readiness probes never connect a socket to itself, and a port a server could not
bind is refused up front with a message that says what to do.

The hazard: a connect to a loopback port in the kernel's ephemeral range where nothing
listens yet may get that very port as its source port. The socket then reaches itself
("connected"), holds the port, and after closing keeps it in TIME_WAIT: the server starting
there fails with "Address already in use".
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from v2v_cli.stack import ports
from v2v_cli.stack.component import bind_hint
from v2v_cli.stack.errors import PortUnavailableError
from v2v_cli.stack.kafka import KafkaBroker, kafka_answers
from v2v_cli.stack.launcher import Stack
from v2v_cli.stack.ports import (
    free_ports,
    in_ephemeral_range,
    is_self_connected,
    listening,
    port_bindable,
    port_in_use,
    tcp_open,
)

from .test_stack_processes import _config


def self_connected() -> socket.socket:
    """A socket connected to itself, as a probe's connect is when the kernel hands it the
    probed port as its source port (forced here by binding that port first)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.connect(sock.getsockname())
    return sock


@pytest.fixture
def held_port() -> Iterator[int]:
    sock = self_connected()
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture
def no_connects(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connect attempt fails the test."""

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("the probe connected where nothing listens")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_a_self_connection_takes_the_port_from_the_server() -> None:
    sock = self_connected()
    port = sock.getsockname()[1]
    assert is_self_connected(sock)  # "connected", though no server exists
    assert not port_bindable(port)  # the server's bind: Address already in use
    sock.close()
    assert not port_bindable(port)  # and still after closing (TIME_WAIT)


def test_probes_never_connect_where_nothing_listens(no_connects: None) -> None:
    (free,) = free_ports(1)
    assert not listening(free)
    assert not tcp_open(free)
    assert not port_in_use(free)
    assert not asyncio.run(kafka_answers(f"127.0.0.1:{free}"))


def test_a_listener_is_found(no_connects: None) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert listening(server.getsockname()[1])


def test_a_self_connected_socket_is_no_listener(held_port: int) -> None:
    assert not listening(held_port)
    assert not port_in_use(held_port)


def test_without_kernel_tables_a_self_connection_counts_as_nothing_listening(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ports, "_proc_listeners", lambda: None)  # e.g. macOS
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert listening(server.getsockname()[1])
    (free,) = free_ports(1)
    real_socket = socket.socket

    class KernelPicksTheProbedPort(real_socket):
        def connect(self, address: Any) -> None:
            self.bind(address)
            super().connect(address)

    monkeypatch.setattr(socket, "socket", KernelPicksTheProbedPort)
    assert not listening(free)  # it reached itself: no server there


def test_listeners_bound_to_any_address_or_v4_mapped_count() -> None:
    parse = ports._proc_address
    assert str(parse("0100007F")) == "127.0.0.1"
    assert ports._accepts(parse("0100007F"), "127.0.0.1")
    assert ports._accepts(parse("00000000"), "127.0.0.1")
    assert ports._accepts(parse("00000000000000000000000000000000"), "127.0.0.1")
    # a JVM's IPv6 socket bound to 127.0.0.1 (::ffff:127.0.0.1)
    assert ports._accepts(parse("0000000000000000FFFF00000100007F"), "127.0.0.1")
    assert not ports._accepts(parse("0200007F"), "127.0.0.1")


def test_port_held_by_a_connection_is_refused_before_anything_starts(
    tmp_path: Path, held_port: int
) -> None:
    stack = Stack(_config(tmp_path, kafka_port=held_port))
    with pytest.raises(PortUnavailableError) as caught:
        stack.up()
    message = str(caught.value)
    assert f"Port {held_port} (needed by Kafka) cannot be bound" in message
    assert "V2V_STACK_KAFKA_PORT" in message
    if in_ephemeral_range(held_port):
        assert "ephemeral port range" in message
    assert not list((tmp_path / "data" / "run").glob("*.pid"))  # nothing was started


def test_free_ports_lie_outside_the_ephemeral_range() -> None:
    chosen = free_ports(5)
    assert len(set(chosen)) == 5
    assert not any(in_ephemeral_range(p) for p in chosen)
    assert all(port_bindable(p) for p in chosen)


def test_a_server_that_could_not_bind_says_which_setting_to_change(tmp_path: Path) -> None:
    config = _config(tmp_path, kafka_port=39092)
    kafka = KafkaBroker(config)
    assert bind_hint(kafka) == ""
    kafka.broker_logs.mkdir(parents=True)
    (kafka.broker_logs / "server.log").write_text(
        "ERROR [KafkaServer] Fatal error: java.net.BindException: Address already in use\n"
    )
    hint = bind_hint(kafka)
    assert "39092 (V2V_STACK_KAFKA_PORT)" in hint
    if in_ephemeral_range(39092):
        assert "ephemeral port range" in hint
