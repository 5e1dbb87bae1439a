"""The real stack for the integration tests, once per run.

External endpoints from V2V_TEST_KAFKA_BOOTSTRAP / V2V_TEST_TEMPORAL_ADDRESS /
V2V_TEST_DATABASE_URL / V2V_TEST_OIDC_ISSUER when given; testcontainers when a Docker engine
answers; otherwise the native launcher (the same code as `v2v stack up`) on free ports in a
temp dir. Keycloak starts with the rest, in parallel.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from v2v_cli.journeys import Endpoints
from v2v_cli.stack import Stack, StackConfig
from v2v_cli.stack.platform import POLICY_BY_PRODUCT, Platform
from v2v_cli.stack.process import free_ports
from v2v_cli.testing import ProvisionedStack, provision_stack
from v2v_cli.tokens import TokenBroker

# A product of the tests alone whose thaw-to-infusion limit is three seconds (custody's
# products configuration of the platform below): a late infusion without waiting hours.
THAW_TEST_PRODUCT = "S9THAW"
THAW_TEST_LIMIT_MINUTES = 0.05

# QC's notifications on the platform: critical deviations of the demo site go to these
# addresses through a mail relay on NOTIFY_SMTP (test_notifications.py runs it), and escalate
# after NOTIFY_WINDOW_S seconds unacknowledged (not 30 minutes).
NOTIFY_SITE = "manufacturing-site-1"
NOTIFY_WINDOW_S = 8
NOTIFY_QA = "qa-oncall@ms1.vein2vein.test"
NOTIFY_QP = "qp@ms1.vein2vein.test"
NOTIFY_TC = "tc@hospital.vein2vein.test"
NOTIFY_PHYSICIAN = "physician@hospital.vein2vein.test"  # the treating physician's on call
# The demo patients' own treatment center (QC knows each patient's from custody's enrolment).
NOTIFY_CENTER = "treatment-center-1"
NOTIFY_CENTER_PHYSICIAN = "cart-physician@center1.vein2vein.test"
NOTIFY_CENTER_TEAM = "cart-team@center1.vein2vein.test"


@pytest.fixture(scope="session")
def stack() -> Iterator[ProvisionedStack]:
    provisioned = provision_stack(need_postgres=True, need_keycloak=True)
    print(f"\nintegration stack: {provisioned.how}")
    try:
        yield provisioned
    finally:
        provisioned.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(stack: ProvisionedStack) -> str:
    return stack.kafka_bootstrap


@pytest.fixture(scope="session")
def temporal_address(stack: ProvisionedStack) -> str:
    return stack.temporal_address


@pytest.fixture(scope="session")
def oidc_issuer(stack: ProvisionedStack) -> str:
    assert stack.oidc_issuer is not None
    return stack.oidc_issuer


@pytest.fixture(scope="session")
async def tokens(oidc_issuer: str) -> AsyncIterator[TokenBroker]:
    """Access tokens from the real Keycloak: one login per user (or machine client) per
    session, renewed only when one nears expiry."""
    broker = TokenBroker(oidc_issuer)
    try:
        yield broker
    finally:
        await broker.aclose()


@pytest.fixture(scope="session")
async def admin(oidc_issuer: str, tokens: TokenBroker) -> AsyncIterator[httpx.AsyncClient]:
    """The realm's admin API as the demo `administrator` (its role manages users)."""
    base = oidc_issuer.replace("/realms/", "/admin/realms/", 1)

    async def auth(request: httpx.Request) -> None:
        request.headers["Authorization"] = f"Bearer {await tokens.for_user('administrator')}"

    async with httpx.AsyncClient(base_url=base, timeout=30, event_hooks={"request": [auth]}) as c:
        yield c


async def _database(kind: str, stack: ProvisionedStack, tmp_path: Path, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/{name}.sqlite"
    return await stack.create_database(f"it_{name}_{uuid.uuid4().hex[:8]}")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def producer_db(db_kind: str, stack: ProvisionedStack, tmp_path: Path) -> str:
    """The writing service's own database."""
    return await _database(db_kind, stack, tmp_path, "producer")


@pytest.fixture
async def consumer_db(db_kind: str, stack: ProvisionedStack, tmp_path: Path) -> str:
    """The consuming service's own database (never shared with the producer)."""
    return await _database(db_kind, stack, tmp_path, "consumer")


@pytest.fixture(scope="session")
def trace_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every platform process appends its finished spans here (V2V_TRACE_FILE)."""
    return tmp_path_factory.mktemp("traces") / "spans.jsonl"


@pytest.fixture(scope="session")
def notify_smtp_port() -> int:
    """The port of the mail relay QC's notifications go to (test_notifications.py listens)."""
    [port] = free_ports(1)
    return port


def notification_routing(path: Path) -> Path:
    path.write_text(
        json.dumps(
            {
                "format": "v2v-qc-notifications/1",
                "sites": {
                    NOTIFY_SITE: {
                        "roles": {
                            "qa-reviewer": [{"channel": "email", "to": NOTIFY_QA}],
                            "qualified-person": [{"channel": "email", "to": NOTIFY_QP}],
                            "treating-physician": [{"channel": "email", "to": NOTIFY_PHYSICIAN}],
                        },
                        "treatment_center": [{"channel": "email", "to": NOTIFY_TC}],
                    },
                    NOTIFY_CENTER: {
                        "roles": {
                            "treating-physician": [
                                {"channel": "email", "to": NOTIFY_CENTER_PHYSICIAN}
                            ],
                            "treatment-center-coordinator": [
                                {"channel": "email", "to": NOTIFY_CENTER_TEAM}
                            ],
                        }
                    },
                },
                "escalation": {
                    "critical": {
                        "chain": ["qa-reviewer", "qualified-person"],
                        "acknowledge_within_s": NOTIFY_WINDOW_S,
                    }
                },
                "retry": {"max_attempts": 20, "backoff_s": 1, "max_backoff_s": 2},
            }
        )
    )
    return path


@pytest.fixture(scope="session")
async def platform(
    stack: ProvisionedStack,
    tmp_path_factory: pytest.TempPathFactory,
    trace_file: Path,
    notify_smtp_port: int,
) -> AsyncIterator[Endpoints]:
    """The four services and the journey, each its own OS process, on the real stack."""
    data = tmp_path_factory.mktemp("platform")
    ports = free_ports(4)
    config = StackConfig.from_env().replace(
        data_dir=data,
        custody_port=ports[0],
        logistics_port=ports[1],
        batch_port=ports[2],
        qc_port=ports[3],
    )
    endpoints = {
        "kafka_bootstrap": stack.kafka_bootstrap,
        "temporal_address": stack.temporal_address,
        "temporal_namespace": stack.temporal_namespace,
        "oidc_issuer": stack.oidc_issuer,
        "database_urls": {
            s: f"sqlite+aiosqlite:///{data}/{s}.sqlite"
            for s in ("custody", "logistics", "batch", "qc", "journey")
        },
    }
    products = data / "custody-products.json"
    products.write_text(
        json.dumps(
            {
                "format": "v2v-custody-products/1",
                "products": {
                    THAW_TEST_PRODUCT: {
                        "config_version": "S9THAW-test",
                        "thaw_to_infusion_limit_minutes": THAW_TEST_LIMIT_MINUTES,
                    }
                },
            }
        )
    )
    os.environ["V2V_TRACE_FILE"] = str(trace_file)  # inherited by the processes
    plat = Platform(
        Stack(config),
        policy_by_product={**POLICY_BY_PRODUCT, THAW_TEST_PRODUCT: "demo"},
        settings={
            "custody": {"V2V_PRODUCTS_CONFIG": str(products)},
            "qc": {
                "V2V_SMTP_HOST": "127.0.0.1",
                "V2V_SMTP_PORT": str(notify_smtp_port),
                "V2V_SMTP_SENDER": "quality@vein2vein.test",
                "V2V_NOTIFICATION_ROUTING": str(notification_routing(data / "notify.json")),
                "V2V_NOTIFICATION_INTERVAL_S": "0.5",
            },
        },
    )
    try:
        await asyncio.to_thread(plat.up, endpoints)
        yield Endpoints(*(f"http://127.0.0.1:{p}" for p in ports), issuer=str(stack.oidc_issuer))
    finally:
        os.environ.pop("V2V_TRACE_FILE", None)
        await asyncio.to_thread(plat.down)
        for log in sorted((data / "logs").glob("*.log")):
            print(f"--- {log.name} ---\n{log.read_text()[-3000:]}")
