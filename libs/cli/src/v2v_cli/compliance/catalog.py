"""The clause catalog: one TOML file listing every clause the platform is measured against.

TOML (read by the standard library's ``tomllib``) rather than YAML: the catalog is read by
the pytest plugin and the ``v2v`` command alike, and neither may depend on a package the
services do not ship.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

DEFAULT_CATALOG = Path("docs/compliance/clauses.toml")
# Long enough for a sentence of one's own, short enough not to quote a regulation.
PARAPHRASE_LIMIT = 320


class Kind(StrEnum):
    SYSTEM = "system"  # the software must show it: tests
    PROCEDURE = "procedure"  # the site's SOP: listed as the site's, never as covered
    SHARED = "shared"  # the software shows its part (tests), the site does the rest


class CatalogError(ValueError):
    """The catalog file is unreadable or breaks one of its rules."""


@dataclass(frozen=True)
class Source:
    key: str
    prefix: str
    title: str
    url: str


@dataclass(frozen=True)
class Clause:
    id: str
    source: Source
    title: str
    paraphrase: str
    kind: Kind
    feature: str  # what vein2vein does (system, shared)
    site: str  # what the site's procedure covers (procedure, shared)
    open: str  # what no test shows yet, though the clause has tests
    note: str  # e.g. a section number we were unsure of


@dataclass(frozen=True)
class Catalog:
    path: Path
    sources: tuple[Source, ...]
    clauses: tuple[Clause, ...]
    sha256: str

    def __iter__(self) -> Iterator[Clause]:
        return iter(self.clauses)

    def get(self, clause_id: str) -> Clause | None:
        return next((c for c in self.clauses if c.id == clause_id), None)


def load(path: Path) -> Catalog:
    try:
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"{path}: {exc}") from exc
    sources = tuple(_source(s) for s in data.get("source", []))
    clauses = tuple(_clause(c, sources) for c in data.get("clause", []))
    seen: set[str] = set()
    for clause in clauses:
        if clause.id in seen:
            raise CatalogError(f"{path}: clause {clause.id} is listed twice")
        seen.add(clause.id)
    if not clauses:
        raise CatalogError(f"{path}: no [[clause]] entries")
    return Catalog(path, sources, clauses, hashlib.sha256(raw).hexdigest())


def _text(entry: dict[str, Any], key: str, where: str, required: bool = True) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str):
        raise CatalogError(f"{where}: {key} must be text")
    value = " ".join(value.split())
    if required and not value:
        raise CatalogError(f"{where}: {key} is missing")
    return value


def _source(entry: dict[str, Any]) -> Source:
    where = f"source {entry.get('key', '?')}"
    return Source(*(_text(entry, k, where) for k in ("key", "prefix", "title", "url")))


def _clause(entry: dict[str, Any], sources: tuple[Source, ...]) -> Clause:
    clause_id = _text(entry, "id", "a clause")
    where = f"clause {clause_id}"
    matching = [s for s in sources if clause_id.startswith(s.prefix)]
    if len(matching) != 1:
        raise CatalogError(f"{where}: its id must start with the prefix of exactly one source")
    try:
        kind = Kind(str(entry.get("kind")))
    except ValueError:
        raise CatalogError(f"{where}: kind must be one of {[k.value for k in Kind]}") from None
    paraphrase = _text(entry, "paraphrase", where)
    if len(paraphrase) > PARAPHRASE_LIMIT:
        raise CatalogError(
            f"{where}: the paraphrase has {len(paraphrase)} characters (at most "
            f"{PARAPHRASE_LIMIT}): say it in your own words, never quote at length"
        )
    clause = Clause(
        id=clause_id,
        source=matching[0],
        title=_text(entry, "title", where),
        paraphrase=paraphrase,
        kind=kind,
        feature=_text(entry, "feature", where, required=kind is not Kind.PROCEDURE),
        site=_text(entry, "site", where, required=kind is not Kind.SYSTEM),
        open=_text(entry, "open", where, required=False),
        note=_text(entry, "note", where, required=False),
    )
    unknown = set(entry) - {f for f in Clause.__dataclass_fields__ if f != "source"}
    if unknown:
        raise CatalogError(f"{where}: unknown keys {sorted(unknown)}")
    return clause
