"""The signing gate refuses, as a 4xx problem, values that have no canonical JSON form (RFC
8785: integers beyond 2**53, non-finite numbers) instead of failing with a 500; signable
values are shown for signing (428)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from v2v_runtime.auth.claims import Principal
from v2v_runtime.authz import Caller
from v2v_runtime.errors import DomainError
from v2v_runtime.signatures.gate import SignatureRequired, Signing
from v2v_runtime.signatures.model import Meaning
from v2v_runtime.signatures.notify import LogNotifier
from v2v_runtime.signatures.settings import SigningSettings
from v2v_runtime.testing import TEST_ISSUER, SeqIds, StepClock, TestReauthenticator
from v2v_runtime.uow import UnitOfWork


def gate(uow_factory: Callable[[], UnitOfWork]) -> Signing:
    return Signing(
        SigningSettings(),
        TestReauthenticator(),
        TEST_ISSUER.verifier(),
        LogNotifier(None),
        uow_factory,
        StepClock(),
        SeqIds("sig"),
    )


CALLER = Caller(
    Principal(
        subject="u-1",
        username="u-1",
        name="Una One",
        roles=frozenset({"qc-analyst"}),
        sites=frozenset({"*"}),
        machine=False,
        client_id="portal",
        authenticated_at=datetime(2026, 11, 24, tzinfo=UTC),
        expires_at=datetime(2026, 11, 25, tzinfo=UTC),
        issuer="https://issuer.test",
    ),
    "qc-analyst",
)


async def authorize(signing: Signing, uow: UnitOfWork, values: dict[str, Any]) -> None:
    await signing.authorize(
        uow,
        CALLER,
        record_id="record-1",
        meaning=Meaning.PERFORMED,
        statement="I enter it.",
        values=values,
        request=None,
        roles=("qc-analyst",),
    )


@pytest.mark.parametrize("value", [10**400, -(2**53), float("inf"), float("nan")])
async def test_values_without_a_canonical_form_are_a_422(
    uow_factory: Callable[[], UnitOfWork], value: Any
) -> None:
    async with uow_factory() as uow:
        with pytest.raises(DomainError) as err:
            await authorize(gate(uow_factory), uow, {"value": value})
    assert (err.value.code, err.value.status) == ("content-not-signable", 422)


async def test_signable_values_are_shown_for_signing(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    async with uow_factory() as uow:
        with pytest.raises(SignatureRequired) as err:
            await authorize(gate(uow_factory), uow, {"value": 2**53 - 1, "text": "85.2"})
    assert err.value.status == 428
    assert err.value.extra["content"]["values"] == {"value": 2**53 - 1, "text": "85.2"}
