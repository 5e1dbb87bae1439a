"""Errors the stack launcher reports to people: each says what went wrong and what to do."""

from __future__ import annotations


class StackError(Exception):
    """A component could not be prepared, started, checked or stopped."""


class StorageSwitchError(StackError):
    """The data dir's services hold their data in the other storage (see stack/storage.py)."""


class PortInUseError(StackError):
    """A port the stack needs is held by a process the stack did not start."""

    def __init__(self, component: str, port: int, setting: str, env_var: str) -> None:
        self.component = component
        self.port = port
        self.setting = setting
        self.env_var = env_var
        super().__init__(
            f"Port {port} (needed by {component}) is already in use by a process this stack "
            f"did not start. Stop that process, or choose another port with the {setting} "
            f"setting (environment variable {env_var}=<port>)."
        )


class PortUnavailableError(StackError):
    """A port the stack needs cannot be bound, though no server listens there: a connection
    holds it (typically one that took it as its source port, which happens in the kernel's
    ephemeral range)."""

    def __init__(
        self,
        component: str,
        port: int,
        setting: str,
        env_var: str,
        ephemeral: tuple[int, int] | None = None,
    ) -> None:
        self.component = component
        self.port = port
        self.setting = setting
        self.env_var = env_var
        why = "a connection still holds it (in TIME_WAIT it may stay for a minute)"
        advice = "Wait a minute, or choose another port"
        if ephemeral is not None:
            low, high = ephemeral
            why += (
                f"; it lies in the kernel's ephemeral port range {low}-{high}, from which "
                "outgoing connections take their source ports, so this can happen any time"
            )
            advice = f"Choose a port outside {low}-{high}"
        super().__init__(
            f"Port {port} (needed by {component}) cannot be bound: {why}. {advice} with the "
            f"{setting} setting (environment variable {env_var}=<port>)."
        )
