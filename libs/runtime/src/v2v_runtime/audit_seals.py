"""The seal side of ``v2v audit verify``: the seal chain, each stream against its sealed head,
and the store against the newest seal outside it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from .eventstore import StoredEvent
from .findings import Finding
from .hashchain import GENESIS
from .seal import Seal, stored_seals


@dataclass(frozen=True)
class SealedHead:
    version: int
    hash: str
    seq: int  # the newest seal that recorded this stream


@dataclass
class SealedState:
    """Every stream's head as of the newest seal in the store (all seals folded)."""

    heads: dict[str, SealedHead] = field(default_factory=dict)
    count: int = 0
    newest: Seal | None = None
    at_external: str | None = None  # the store's hash of the seal with the external seq


async def fold_seals(
    session: AsyncSession, findings: list[Finding], external: Seal | None
) -> SealedState:
    """Check the seal chain (hash, link, consecutive seqs) and fold the seals' entries."""
    state = SealedState()
    prev_hash, expected = GENESIS, 1
    async for seal in stored_seals(session):
        state.count += 1

        def find(problem: str, seq: int = seal.seq) -> None:
            findings.append(Finding(f"#{seq}", problem, subject="seal"))

        if seal.seq != expected:
            find(f"seals #{expected} to #{seal.seq - 1} missing before it (removed?)")
        elif seal.prev_hash != prev_hash:
            find(f"chain broken: does not follow seal #{expected - 1} (replaced or reordered?)")
        if seal.recomputed() != seal.hash:
            find("content altered: the stored hash does not match the seal")
        for sid, version, head in seal.entries:
            state.heads[sid] = SealedHead(version, head, seal.seq)
        if external is not None and seal.seq == external.seq:
            state.at_external = seal.hash
        prev_hash, expected, state.newest = seal.hash, seal.seq + 1, seal
    return state


def check_against_external(state: SealedState, external: Seal, findings: list[Finding]) -> None:
    """The store must contain the newest seal published outside it, unchanged."""

    def find(problem: str) -> None:
        findings.append(Finding(external.service, problem, subject="store"))

    if external.recomputed() != external.hash:
        find(f"the external seal #{external.seq} does not match its own hash (not a seal?)")
    newest = state.newest.seq if state.newest else None
    if state.at_external is None and (newest is None or newest < external.seq):
        have = "none" if newest is None else f"#{newest}"
        find(
            f"store is behind the external seal (newest in store {have}, outside "
            f"#{external.seq}): a restored stale backup or truncated store?"
        )
    elif state.at_external is None:
        find(f"seal #{external.seq} is missing from the store (seal table altered)")
    elif state.at_external != external.hash:
        find(f"seal #{external.seq} differs from its external copy (seal table altered)")


def check_stream_against_seal(
    sid: str, evs: Sequence[StoredEvent], sealed: SealedHead, findings: list[Finding]
) -> None:
    """A sealed stream still reaches its sealed version, with the event that was sealed."""
    last = evs[-1].version if evs else 0
    if last < sealed.version:
        findings.append(
            Finding(
                sid,
                f"behind seal #{sealed.seq}: sealed at version {sealed.version}, the store has "
                f"{last} (newest events removed, or a stale copy?)",
            )
        )
        return
    at = next((e for e in reversed(evs) if e.version == sealed.version), None)
    if at is None:
        findings.append(
            Finding(
                sid, f"the event sealed by seal #{sealed.seq} (version {sealed.version}) is gone"
            )
        )
    elif at.hash != sealed.hash:
        findings.append(
            Finding(
                sid,
                f"differs from seal #{sealed.seq}: the event at version {sealed.version} is not "
                "the one sealed (stream rewritten?)",
                sealed.version,
                at.event_id,
                at.position,
            )
        )


def missing_streams(
    state: SealedState, seen: set[str], heads: set[str], findings: list[Finding]
) -> None:
    """Streams a seal recorded that have no events left."""
    for sid in sorted(set(state.heads) - seen):
        sealed = state.heads[sid]
        what = "its head remains" if sid in heads else "neither its events nor its head remain"
        findings.append(
            Finding(
                sid,
                f"missing since seal #{sealed.seq} (sealed at version {sealed.version}): {what} "
                "(stream deleted?)",
            )
        )
