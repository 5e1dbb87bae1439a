"""Alembic migrations, run programmatically (services call this at start-up)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from .engine import create_engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str, extra_locations: list[Path] | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    locations = [MIGRATIONS / "versions", *(extra_locations or [])]
    cfg.set_main_option("version_locations", " ".join(str(p) for p in locations))
    cfg.set_main_option("path_separator", "space")
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


async def upgrade(url: str, extra_locations: list[Path] | None = None) -> None:
    """Bring the database at ``url`` to the newest schema (idempotent)."""
    cfg = alembic_config(url, extra_locations)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:

            def _run(sync_conn: Connection) -> None:
                cfg.attributes["connection"] = sync_conn
                command.upgrade(cfg, "heads")

            await conn.run_sync(_run)
    finally:
        await engine.dispose()
