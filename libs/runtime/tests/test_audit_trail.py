"""GET /audit-trail as the kit mounts it for every service: who, what, when (record and
observed time, late), why (reason code and text), old -> new values, the hash-chain status of
what it returns; filters and paging; site scoping; identity redaction; JSON and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from v2v_runtime import audit_trail_query
from v2v_runtime.audit_trail import CSV_COLUMNS, REDACTED
from v2v_runtime.audit_trail_query import AuditTrailSpec, StreamScope
from v2v_runtime.authz import Roles
from v2v_runtime.db.tables import events
from v2v_runtime.domain import Aggregate, Change, DomainEvent
from v2v_runtime.repository import EventCodec, Persistence
from v2v_runtime.service import ServiceSettings, ServiceSpec
from v2v_runtime.testing import ServiceHarness, StepClock, as_user
from v2v_runtime.uow import UnitOfWork

START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
COI_1, COI_2 = "CHA1B2C26000001", "CHA1B2C26000002"
AUDITOR = as_user("u-auditor-ann", Roles.AUDITOR, name="Ann Auditor")
SITE2_AUDITOR = as_user("u-aud2", Roles.AUDITOR, sites=["site-2"])
COORDINATOR = as_user("u-coord-site1", Roles.TREATMENT_CENTER_COORDINATOR, sites=["site-1"])


class Measured(DomainEvent):
    kind = "sample.measured"
    observed_times = ("started_at", "ended_at")
    value: str
    started_at: datetime
    ended_at: datetime
    late: bool = False


class Corrected(DomainEvent):
    kind = "sample.corrected"
    old: str
    new: str
    reason_code: str
    reason: str

    def changes(self) -> list[Change]:
        return [Change(field="value", old=self.old, new=self.new)]


class Sample(Aggregate):
    def apply(self, event: DomainEvent) -> None:
        pass


CODEC = EventCodec("qc", [Measured, Corrected])
SCOPES = {
    "sample-1": StreamScope(COI_1, ("site-1",)),
    "secret-1": StreamScope(COI_1, ("site-1",)),
    "sample-2": StreamScope(COI_2, ("site-2",)),
    # "capacity-x": known to no one: visible to callers of every site only
}


class MapScope:
    def __init__(self, session: AsyncSession) -> None:
        pass

    async def streams_of(self, coi: str) -> list[str]:
        return [sid for sid, s in SCOPES.items() if s.coi == coi]

    async def scopes(self, stream_ids: Collection[str]) -> dict[str, StreamScope]:
        return {sid: SCOPES[sid] for sid in stream_ids if sid in SCOPES}


@dataclass
class SecretStreams:
    reads: list[tuple[str, str]] = field(default_factory=list)

    def holds_identity(self, stream_id: str) -> bool:
        return stream_id.startswith("secret-")

    async def note_read(self, uow: UnitOfWork, coi: str, who: dict[str, Any]) -> None:
        self.reads.append((coi, who["user_id"]))


@dataclass
class World:
    harness: ServiceHarness
    http: httpx.AsyncClient
    secrets: SecretStreams

    async def trail(self, headers: dict[str, str], **params: Any) -> httpx.Response:
        return await self.http.get("/audit-trail", params=params, headers=headers)

    async def entries(self, headers: dict[str, str] = AUDITOR, **params: Any) -> list[Any]:
        r = await self.trail(headers, **params)
        assert r.status_code == 200, r.text
        body: list[Any] = r.json()["entries"]
        return body


async def record(h: ServiceHarness, stream: str, events: list[DomainEvent], who: str) -> None:
    async with h.kit.uow() as uow:
        sample = await uow.repository(Sample).find(stream) or Sample(stream)
        for ev in events:
            sample._record(ev)
        await uow.repository(Sample).save(sample, {"user_id": who, "role": "r", "name": who})


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    secrets = SecretStreams()
    spec = ServiceSpec(
        name="qc",
        settings=ServiceSettings(database_url=ServiceHarness.sqlite_url(tmp_path)),
        migrations=[],
        routers=[],
        handlers={},
        clock=StepClock(START, tick=timedelta(seconds=1)),
        persistence=Persistence(CODEC),
        audit_trail=AuditTrailSpec(
            scope=MapScope,
            supervisors=(Roles.TREATMENT_CENTER_COORDINATOR,),
            identity=secrets,
        ),
    )
    h = ServiceHarness(spec)
    await h.start()
    measured = Measured(
        value="7",
        started_at=START - timedelta(hours=3),
        ended_at=START - timedelta(hours=2),
        late=True,
    )
    await record(h, "sample-1", [measured], "u-nurse")
    fixed = Corrected(
        old="7", new="1", reason_code="transcription-error", reason='digits, "swapped"\nat entry'
    )
    await record(h, "sample-1", [fixed], "u-lead")
    await record(
        h, "secret-1", [Corrected(old="A", new="B", reason_code="other", reason="A")], "u-x"
    )
    await record(h, "sample-2", [Measured(value="5", started_at=START, ended_at=START)], "u-nurse")
    await record(h, "capacity-x", [Measured(value="1", started_at=START, ended_at=START)], "u-x")
    async with h.client() as http:
        yield World(h, http, secrets)
    await h.close()


@pytest.mark.requirement("21CFR11.10(b)", "21CFR11.10(e)", "EU-Annex11.9")
async def test_each_entry_says_who_what_when_why_and_old_to_new(world: World) -> None:
    r = await world.trail(AUDITOR, coi=COI_1)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["service"] == "qc" and body["next_after"] is None
    measured, corrected, secret = body["entries"]
    assert (measured["record"], measured["version"], measured["event_type"]) == (
        "sample-1",
        1,
        "qc.sample.measured",
    )
    assert (measured["user_id"], measured["user_name"], measured["role"]) == (
        "u-nurse",
        "u-nurse",
        "r",
    )
    assert measured["coi"] == COI_1
    assert measured["recorded_at"].startswith("2026-11-24T08:00")
    assert measured["observed_at"] == (START - timedelta(hours=2)).isoformat().replace(
        "+00:00", "Z"
    )
    assert set(measured["observed"]) == {"started_at", "ended_at"}
    assert measured["late"] is True and measured["changes"] == []
    assert measured["values"]["value"] == "7"
    assert corrected["late"] is None and corrected["observed_at"] is None  # reports no time
    assert (corrected["reason_code"], corrected["reason"]) == (
        "transcription-error",
        'digits, "swapped"\nat entry',
    )
    assert corrected["changes"] == [{"field": "value", "old": "7", "new": "1"}]
    assert corrected["prev_hash"] == measured["hash"]
    assert secret["record"] == "secret-1"
    assert body["verification"] == {
        "status": "ok",
        "records": [
            {"record": "sample-1", "status": "ok", "events_checked": 2, "findings": []},
            {"record": "secret-1", "status": "ok", "events_checked": 1, "findings": []},
        ],
    }
    assert r.headers["x-v2v-chain"] == "ok"


@pytest.mark.requirement("21CFR11.10(b)", "21CFR11.10(e)", "EU-Annex11.9")
async def test_filters_by_record_user_type_and_record_time(world: World) -> None:
    def keys(entries: list[Any]) -> list[tuple[str, int]]:
        return [(e["record"], e["version"]) for e in entries]

    assert keys(await world.entries(record="sample-1")) == [("sample-1", 1), ("sample-1", 2)]
    assert keys(await world.entries(coi=COI_1, record="sample-2")) == []
    assert keys(await world.entries(user="u-nurse")) == [("sample-1", 1), ("sample-2", 1)]
    short = await world.entries(type="sample.corrected")
    assert keys(short) == keys(await world.entries(type="qc.sample.corrected"))
    assert keys(short) == [("sample-1", 2), ("secret-1", 1)]
    everything = await world.entries()
    assert len(everything) == 5
    second = everything[1]["recorded_at"]
    assert keys(await world.entries(**{"from": second, "to": second})) == [("sample-1", 2)]
    assert keys(await world.entries(coi="CHA1B2C26999999")) == []  # unknown: nothing


async def test_bad_filters_are_problems(world: World) -> None:
    for params, code in (
        ({"from": "2026-11-25T00:00:00Z", "to": "2026-11-24T00:00:00Z"}, "time-range-reversed"),
        ({"from": "0001-01-01T00:00:00+05:00"}, "time-out-of-range"),
        ({"from": "2026-11-24T08:00:00"}, "validation"),  # no offset: which time?
        ({"limit": 0}, "validation"),
        ({"after": -1}, "validation"),
        ({"format": "xml"}, "validation"),
    ):
        r = await world.trail(AUDITOR, **params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["type"] == f"urn:vein2vein:problem:{code}", r.text


@pytest.mark.requirement("21CFR11.10(b)")
async def test_pages_follow_the_recorded_order(world: World) -> None:
    r = await world.trail(AUDITOR, limit=2)
    first = r.json()
    assert len(first["entries"]) == 2
    after = first["next_after"]
    assert after == first["entries"][-1]["position"]
    assert r.headers["x-v2v-next-after"] == str(after)
    rest = await world.entries(after=after, limit=10)
    assert [e["position"] for e in rest] == sorted(e["position"] for e in rest)
    assert len(rest) == 3 and rest[0]["position"] > after
    assert (await world.trail(AUDITOR, after=after, limit=10)).json()["next_after"] is None


@pytest.mark.requirement("21CFR11.10(g)")
async def test_a_caller_sees_the_cois_of_their_sites_only(world: World) -> None:
    site2 = await world.entries(SITE2_AUDITOR)
    assert [e["record"] for e in site2] == ["sample-2"]  # not site 1, not the unknown stream
    assert await world.entries(SITE2_AUDITOR, coi=COI_1) == []  # as if it did not exist
    assert await world.entries(SITE2_AUDITOR, record="sample-1") == []
    everyone = {e["record"] for e in await world.entries(AUDITOR)}
    assert everyone == {"sample-1", "secret-1", "sample-2", "capacity-x"}


async def test_a_site_callers_scan_is_bounded_and_resumable(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_trail_query, "CHUNK", 2)
    monkeypatch.setattr(audit_trail_query, "SCAN_LIMIT", 2)
    first = (await world.trail(SITE2_AUDITOR)).json()
    assert first["entries"] == [] and first["next_after"] is not None  # gave up, resumable
    seen, after = [], first["next_after"]
    while after is not None:
        page = (await world.trail(SITE2_AUDITOR, after=after)).json()
        seen += [e["record"] for e in page["entries"]]
        after = page["next_after"]
    assert seen == ["sample-2"]


@pytest.mark.requirement("21CFR11.10(g)")
async def test_identity_is_redacted_unless_the_caller_may_read_it(world: World) -> None:
    [redacted] = await world.entries(AUDITOR, record="secret-1")
    assert redacted["redacted"] is True
    assert redacted["values"] == {
        "old": REDACTED,
        "new": REDACTED,
        "reason": REDACTED,
        "reason_code": "other",
    }
    assert redacted["changes"] == [{"field": "value", "old": REDACTED, "new": REDACTED}]
    assert redacted["reason"] == REDACTED and redacted["reason_code"] == "other"
    assert world.secrets.reads == []  # nothing was shown
    shown = await world.entries(COORDINATOR, coi=COI_1)
    [secret] = [e for e in shown if e["record"] == "secret-1"]
    assert secret["values"]["new"] == "B" and secret["redacted"] is False
    assert world.secrets.reads == [(COI_1, "u-coord-site1")]  # one read recorded per CoI shown


async def test_readers_are_declared(world: World) -> None:
    analyst = as_user("u-an", Roles.QC_ANALYST)
    r = await world.trail(analyst)
    assert r.status_code == 403 and r.json()["allowed_roles"] == [
        Roles.AUDITOR,
        Roles.QA_REVIEWER,
        Roles.QUALIFIED_PERSON,
        Roles.TREATMENT_CENTER_COORDINATOR,
    ]
    for role in (Roles.QA_REVIEWER, Roles.QUALIFIED_PERSON):
        assert (await world.trail(as_user(f"u-{role}", role))).status_code == 200


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.requirement("21CFR11.10(b)", "EU-Annex11.9")
async def test_csv_has_stable_columns_and_rfc4180_quoting(world: World) -> None:
    r = await world.trail(AUDITOR, coi=COI_1, format="csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in r.headers["content-disposition"]
    assert r.text.startswith(",".join(CSV_COLUMNS) + "\r\n")
    measured, corrected, secret = rows(r.text)
    assert measured["late"] == "true" and measured["chain"] == "ok"
    assert measured["observed_at"] == (START - timedelta(hours=2)).isoformat()
    assert corrected["reason"] == 'digits, "swapped"\nat entry'  # quoted, and read back whole
    assert '"digits, ""swapped""\nat entry"' in r.text
    assert corrected["changes"] == 'value: "7" -> "1"'
    assert corrected["late"] == "" and corrected["user_id"] == "u-lead"
    assert secret["reason"] == REDACTED
    negotiated = await world.http.get(
        "/audit-trail", params={"coi": COI_1}, headers={**AUDITOR, "Accept": "text/csv"}
    )
    assert negotiated.text == r.text


async def test_a_formula_in_free_text_is_not_run_by_a_spreadsheet(world: World) -> None:
    bad = Corrected(old="1", new="2", reason_code="other", reason="=HYPERLINK(1)")
    await record(world.harness, "sample-2", [bad], "u-x")
    r = await world.trail(AUDITOR, record="sample-2", format="csv")
    assert rows(r.text)[-1]["reason"] == "'=HYPERLINK(1)"
    assert (await world.entries(record="sample-2"))[-1]["reason"] == "=HYPERLINK(1)"  # JSON: as is


@pytest.mark.requirement("21CFR11.10(a)", "21CFR11.10(b)", "21CFR11.10(e)")
async def test_an_altered_record_is_reported_with_where(world: World) -> None:
    async with world.harness.kit.sessions() as s, s.begin():
        await s.execute(
            update(events)
            .where(events.c.stream_id == "sample-1", events.c.version == 1)
            .values(
                payload={
                    "value": "9",
                    "started_at": START.isoformat(),
                    "ended_at": START.isoformat(),
                }
            )
        )
    r = await world.trail(AUDITOR, coi=COI_1)
    body = r.json()
    assert body["verification"]["status"] == "broken"
    assert r.headers["x-v2v-chain"] == "broken"
    [sample, secret] = body["verification"]["records"]
    assert sample["status"] == "broken" and secret["status"] == "ok"
    assert any("version 1" in f and "content altered" in f for f in sample["findings"])
    csv_rows = rows((await world.trail(AUDITOR, coi=COI_1, format="csv")).text)
    assert csv_rows[0]["chain"].startswith("broken: ") and csv_rows[2]["chain"] == "ok"
