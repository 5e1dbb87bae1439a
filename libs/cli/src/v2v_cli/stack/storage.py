"""Which storage (SQLite or PostgreSQL) a data dir's services keep their data in, and the
refusal to start that data dir in the other one.

Custody numbers CoIs from a counter in its own database. The same data dir started in the
other storage would find an empty counter and issue the CoIs of the first patients again,
while Kafka and Temporal (shared by both storages) still hold those patients' journeys:
one ``journey-<CoI>`` for two patients. So a data dir keeps the storage it started with;
carrying the counter over would not be enough (every service's state, the journey's
registrations and the seals published on Kafka would still be left behind).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from v2v_cli.stack.config import StackConfig
from v2v_cli.stack.errors import StorageSwitchError

Storage = Literal["sqlite", "postgres"]
STORAGES: tuple[Storage, ...] = ("sqlite", "postgres")
_TITLE = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def storage_of(postgres: bool) -> Storage:
    return "postgres" if postgres else "sqlite"


def recorded_storage(config: StackConfig) -> Storage | None:
    """The storage recorded when the services first started from this data dir."""
    try:
        value = config.storage_file.read_text().strip()
    except OSError:
        return None
    return value if value in STORAGES else None


def held_storage(config: StackConfig, cluster_dir: Path) -> frozenset[Storage]:
    """Where this data dir's services hold data: the recorded storage, else (a data dir from
    before the record existed) what is on disk: SQLite files, or a PostgreSQL cluster."""
    recorded = recorded_storage(config)
    if recorded is not None:
        return frozenset({recorded})
    found: set[Storage] = set()
    if any(config.db_dir.glob("*.sqlite")):
        found.add("sqlite")
    if (cluster_dir / "PG_VERSION").exists():
        found.add("postgres")
    return frozenset(found)


def check_storage(config: StackConfig, cluster_dir: Path, wanted: Storage) -> None:
    """Refuse, before anything starts, to run this data dir in another storage than the one
    its services hold data in; the message names the ways on."""
    held = held_storage(config, cluster_dir)
    if not held or held == {wanted}:
        return
    data_dir = config.data_dir
    if len(held) > 1:
        raise StorageSwitchError(
            f"{data_dir} holds service data in both SQLite ({config.db_dir}) and PostgreSQL "
            f"({cluster_dir}): it was switched between them before vein2vein refused that, so "
            "one CoI may already name two patients. Start afresh: `./v2v down`, delete "
            f"{data_dir}, then `./v2v up` (add --postgres for PostgreSQL); or use another data "
            "dir (--data-dir or V2V_STACK_DATA_DIR)."
        )
    (have,) = held
    keep = "without --postgres" if have == "sqlite" else "with --postgres"
    raise StorageSwitchError(
        f"{data_dir} keeps its services' data in {_TITLE[have]}, so it will not start with "
        f"{_TITLE[wanted]}: custody would number CoIs from the start again while Kafka and "
        "Temporal still hold the journeys of the CoIs it issued, and one CoI would name two "
        f"patients. Either keep {_TITLE[have]} (run the command {keep}); or use "
        f"{_TITLE[wanted]} in another data dir (--data-dir or V2V_STACK_DATA_DIR, after "
        f"`./v2v down` here or on other ports); or start afresh, discarding this data: "
        f"`./v2v down`, delete {data_dir}, and start again."
    )


def claim_storage(config: StackConfig, cluster_dir: Path, wanted: Storage) -> None:
    """Check, then record the storage: called before the services start, as from then on
    they may issue CoIs in it."""
    check_storage(config, cluster_dir, wanted)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    config.storage_file.write_text(f"{wanted}\n")
