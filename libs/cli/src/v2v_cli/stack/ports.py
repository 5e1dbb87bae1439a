"""Ports of the local stack: is a server listening, could one bind, which ports to pick.

A connect to a loopback port where nothing listens yet can connect the socket to itself: the
kernel may pick that very port as the source port when it lies in the ephemeral range (TCP
simultaneous open). The probe then holds the port, and its TIME_WAIT after closing keeps it a
minute longer, so the server starting there fails with "Address already in use". So the probes
here never connect unless a listener is there.
"""

from __future__ import annotations

import errno
import ipaddress
import random
import socket
from collections.abc import Sequence
from pathlib import Path

LOOPBACK = "127.0.0.1"

_LISTEN = "0A"  # the TCP_LISTEN state in /proc/net/tcp{,6}
_PROC_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
_PORT_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_IANA_DYNAMIC = (49152, 65535)  # where the kernel's range is unknown (e.g. macOS)


def ephemeral_range() -> tuple[int, int]:
    """The kernel's range of source ports for outgoing connections (inclusive)."""
    try:
        low, high = _PORT_RANGE_FILE.read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return _IANA_DYNAMIC


def in_ephemeral_range(port: int) -> bool:
    low, high = ephemeral_range()
    return low <= port <= high


def _proc_address(hex_addr: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return ipaddress.IPv4Address(raw[::-1])  # stored in host (little-endian) order
    # four 32-bit words, each in host order
    return ipaddress.IPv6Address(b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4)))


def _proc_listeners(
    tables: Sequence[Path] = _PROC_TABLES,
) -> list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]] | None:
    """(address, port) of every listening TCP socket, from the kernel's tables; None where
    they cannot be read (not Linux)."""
    found: list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]] = []
    read_any = False
    for table in tables:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        read_any = True
        for line in lines:
            fields = line.split()
            if len(fields) < 4 or fields[3] != _LISTEN:
                continue
            hex_addr, _, hex_port = fields[1].partition(":")
            found.append((_proc_address(hex_addr), int(hex_port, 16)))
    return found if read_any else None


def _accepts(address: ipaddress.IPv4Address | ipaddress.IPv6Address, host: str) -> bool:
    """Would a listener bound to ``address`` take connections made to ``host``?"""
    target = ipaddress.ip_address(host)
    if address.is_unspecified or address == target:
        return True
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return mapped is not None and mapped == target


def listening(port: int, host: str = LOOPBACK, timeout: float = 1.0) -> bool:
    """True if a server listens on ``host:port`` — found without connecting where the
    kernel's socket tables can be read (Linux), so never a self-connection. Elsewhere a
    connect, and a socket that reached itself counts as nothing listening."""
    listeners = _proc_listeners()
    if listeners is not None:
        return any(p == port and _accepts(addr, host) for addr, p in listeners)
    return _connect_probe(port, host, timeout)


def _connect_probe(port: int, host: str, timeout: float) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((host, port))
        except (ConnectionRefusedError, TimeoutError):
            return False
        except OSError as exc:
            if exc.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH):
                return False
            raise
        return not is_self_connected(sock)


def is_self_connected(sock: socket.socket) -> bool:
    """A socket whose source is its destination: no server answered, the kernel looped it."""
    try:
        return bool(sock.getsockname() == sock.getpeername())
    except OSError:
        return False


def port_in_use(port: int, host: str = LOOPBACK) -> bool:
    """True if something listens on ``host:port`` (a server of someone else's)."""
    return listening(port, host)


def port_bindable(port: int, host: str = LOOPBACK) -> bool:
    """True if a server could bind ``host:port`` now, as ours do (with SO_REUSEADDR). It
    cannot while another socket holds the port: a live connection that took it as its source
    port, or one in TIME_WAIT that did not set SO_REUSEADDR (a client's, a self-connection's)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


# Below the ephemeral range: no outgoing connection takes these as its source port.
_CHOSEN_PORTS = (20000, 32767)


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """``count`` distinct ports that are free right now, outside the kernel's ephemeral
    range where it allows (so no outgoing connection takes one before its server binds it)."""
    low, high = _CHOSEN_PORTS
    eph_low, _ = ephemeral_range()
    high = min(high, eph_low - 1)
    chosen: list[int] = []
    if high - low >= count * 4:
        rng = random.SystemRandom()
        for _ in range(count * 50):
            port = rng.randint(low, high)
            if port not in chosen and port_bindable(port, host) and not listening(port, host):
                chosen.append(port)
                if len(chosen) == count:
                    return chosen
    # A kernel whose ephemeral range starts low: let it choose (held open together).
    sockets: list[socket.socket] = []
    try:
        for _ in range(count - len(chosen)):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind((host, 0))
        return chosen + [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def tcp_open(port: int, host: str = LOOPBACK, timeout: float = 1.0) -> bool:
    """A server listens on ``host:port`` (a quick check before a protocol's own probe)."""
    return listening(port, host, timeout)
