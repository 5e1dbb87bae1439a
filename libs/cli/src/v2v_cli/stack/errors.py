"""Errors the stack launcher reports to people: each says what went wrong and what to do."""

from __future__ import annotations


class StackError(Exception):
    """A component could not be prepared, started, checked or stopped."""


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
