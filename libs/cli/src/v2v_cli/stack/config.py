"""Where the local stack keeps its files and which ports it listens on.

Every field can be set from the environment as ``V2V_STACK_<FIELD>`` (e.g.
``V2V_STACK_KAFKA_PORT=19092``), so two checkouts can run side by side.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from v2v_cli.stack.errors import StackError

ENV_PREFIX = "V2V_STACK_"
LOCALHOST = "127.0.0.1"
# One database per service (the journey's holds its registrations); the test suite creates
# its own in its own stack, so it never touches service data.
SERVICE_DATABASES: tuple[str, ...] = ("custody", "logistics", "batch", "qc", "journey")
TEST_DATABASE = "v2v_test"
POSTGRES_USER = "v2v"
# The OpenID Connect realm of the platform (deploy/keycloak/<realm>-realm.json).
OIDC_REALM = "vein2vein"


def env_var(setting: str) -> str:
    """The environment variable that overrides a StackConfig field."""
    return f"{ENV_PREFIX}{setting.upper()}"


def _default_data_dir() -> Path:
    return Path.cwd() / ".v2v"


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "vein2vein"


@dataclass(frozen=True)
class StackConfig:
    data_dir: Path = field(default_factory=_default_data_dir)
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    postgres_port: int = 15432
    custody_port: int = 8101
    logistics_port: int = 8102
    batch_port: int = 8103
    qc_port: int = 8104
    keycloak_port: int = 18080  # below the ephemeral range, unlike Keycloak's usual 8080
    kafka_version: str = "4.1.1"
    keycloak_version: str = "26.7.3"
    keycloak_java_home: str = ""  # a JDK 21+ for Keycloak; empty: searched (see stack/jdk.py)
    cache_dir: Path = field(default_factory=_default_cache_dir)
    temporal_namespace: str = "default"

    def __post_init__(self) -> None:
        # Absolute paths: pid files, server configs and URLs must not depend on the cwd later.
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser().resolve())
        object.__setattr__(self, "cache_dir", Path(self.cache_dir).expanduser().resolve())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StackConfig:
        """Defaults overridden by ``V2V_STACK_*`` variables."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(env_var(f.name))
            if raw is None or raw == "":
                continue
            if f.name.endswith("_port"):
                values[f.name] = _parse_port(f.name, raw)
            elif f.name.endswith("_dir"):
                values[f.name] = Path(raw)
            else:
                values[f.name] = raw
        return cls(**values)  # type: ignore[arg-type]

    def replace(self, **changes: object) -> StackConfig:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def to_json(self) -> dict[str, str | int]:
        return {
            f.name: str(v) if isinstance(v := getattr(self, f.name), Path) else v
            for f in dataclasses.fields(self)
        }

    @classmethod
    def from_json(cls, data: Mapping[str, str | int]) -> StackConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})  # type: ignore[arg-type]

    # Endpoints -----------------------------------------------------------------------------
    @property
    def kafka_bootstrap(self) -> str:
        return f"{LOCALHOST}:{self.kafka_port}"

    @property
    def kafka_controller(self) -> str:
        return f"{LOCALHOST}:{self.kafka_controller_port}"

    @property
    def temporal_address(self) -> str:
        return f"{LOCALHOST}:{self.temporal_port}"

    @property
    def temporal_ui_url(self) -> str:
        return f"http://{LOCALHOST}:{self.temporal_ui_port}"

    @property
    def keycloak_url(self) -> str:
        return f"http://{LOCALHOST}:{self.keycloak_port}"

    @property
    def oidc_issuer(self) -> str:
        """The realm's issuer: tokens carry it as ``iss``, discovery lives below it."""
        return f"{self.keycloak_url}/realms/{OIDC_REALM}"

    def postgres_url(self, dbname: str) -> str:
        return f"postgresql+asyncpg://{POSTGRES_USER}@{LOCALHOST}:{self.postgres_port}/{dbname}"

    def sqlite_url(self, service: str) -> str:
        # An absolute path after "sqlite+aiosqlite:///" gives SQLAlchemy's four-slash form.
        return f"sqlite+aiosqlite:///{self.db_dir / f'{service}.sqlite'}"

    # Files ---------------------------------------------------------------------------------
    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def db_dir(self) -> Path:
        return self.data_dir / "db"

    @property
    def endpoints_file(self) -> Path:
        return self.data_dir / "endpoints.json"

    @property
    def storage_file(self) -> Path:
        """The storage the services keep their data in (kept by ``down``: see storage.py)."""
        return self.data_dir / "storage"

    @property
    def recorded_file(self) -> Path:
        """The settings the running servers were started with (written by ``up``)."""
        return self.run_dir / "stack.json"

    @property
    def kafka_home(self) -> Path:
        """Cached broker jars, shared by every data dir (fetched once per version)."""
        return self.cache_dir / f"kafka-{self.kafka_version}"

    @property
    def keycloak_dist(self) -> Path:
        """The unpacked Keycloak distribution, built once, shared by every data dir."""
        return self.cache_dir / f"keycloak-{self.keycloak_version}"


def _parse_port(name: str, raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise StackError(f"{env_var(name)}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise StackError(f"{env_var(name)}={port} is outside 1-65535")
    return port
