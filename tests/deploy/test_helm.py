"""The Helm chart (deploy/helm/vein2vein), checked offline: Helm's own engine (the Helm 4
SDK through helm-python-sdk) lints and renders it, kubernetes-validate checks every object
against the Kubernetes schemas, and the assertions below hold the chart to its contract
(docs/operations.md). Uses deploy/helm/check.py, the operators' checking tool."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import helm_python as helm
import pytest

from v2v_runtime.auth import OidcSettings
from v2v_runtime.signatures.settings import SigningSettings

ROOT = Path(__file__).resolve().parents[2]
CHECK_PY = ROOT / "deploy" / "helm" / "check.py"


def _load_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("v2v_helm_check", CHECK_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _load_check()
CI_DIR: Path = check.CI_DIR
CI_FILES = sorted(p.name for p in CI_DIR.glob("*.yaml"))

# What a site must give at the least; the rest are the chart's defaults.
SITE_REQUIRED: dict[str, Any] = {
    "image": {"registry": "registry.example.com"},
    "kafka": {"bootstrapServers": "kafka.example.internal:9092"},
    "temporal": {"address": "temporal.example.internal:7233"},
    "oidc": {"issuer": "https://login.example.internal/realms/vein2vein"},
}
VALUE_SETS = ["defaults", *CI_FILES]

DOMAIN_SERVICES = ("custody", "logistics", "batch", "qc")
ROLES = {
    **{svc: ("api", "consumer", "relay") for svc in DOMAIN_SERVICES},
    "journey": ("worker", "bridge"),
}
COMPONENTS = {f"{svc}-{role}" for svc, roles in ROLES.items() for role in roles}
HOOK = "helm.sh/hook"
HOOK_WEIGHT = "helm.sh/hook-weight"
HOOK_DELETE = "helm.sh/hook-delete-policy"


def merged(*layers: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for layer in layers:
        out = check.deep_merge(out, layer)
    return out


def values_of(value_set: str) -> dict[str, Any]:
    if value_set == "defaults":
        return merged(SITE_REQUIRED)
    loaded: dict[str, Any] = check.load_values([CI_DIR / value_set])
    return loaded


def render(values: dict[str, Any]) -> dict[str, str]:
    rendered: dict[str, str] = check.render(values)
    return rendered


def objects_of(values: dict[str, Any]) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = check.manifests(render(values))
    return objects


@cache
def _objects_cached(value_set: str) -> tuple[dict[str, Any], ...]:
    return tuple(objects_of(values_of(value_set)))


def objects(value_set: str) -> list[dict[str, Any]]:
    return list(_objects_cached(value_set))


def kinds(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def by_component(objs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {
        o["metadata"]["labels"]["app.kubernetes.io/component"]: o
        for o in kinds(objs, kind)
        if "app.kubernetes.io/component" in o["metadata"]["labels"]
    }


def pod_specs(objs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every pod spec: Deployments and Jobs (templates) and bare Pods (the chart test)."""
    for o in objs:
        name = f"{o['kind']}/{o['metadata']['name']}"
        if o["kind"] in ("Deployment", "Job"):
            yield name, o["spec"]["template"]["spec"]
        elif o["kind"] == "Pod":
            yield name, o["spec"]


def effective_env(objs: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, Any]:
    """Name -> value (or valueFrom) a container sees: its ConfigMap envFrom, then env."""
    configmaps = {o["metadata"]["name"]: o.get("data", {}) for o in kinds(objs, "ConfigMap")}
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]])
    for entry in container.get("env", []):
        env[entry["name"]] = entry.get("value", entry.get("valueFrom"))
    return env


def is_hook(o: dict[str, Any]) -> bool:
    return HOOK in o["metadata"].get("annotations", {})


# --- lint, render, Kubernetes schemas --------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_lint_strict_passes(value_set: str) -> None:
    assert check.lint(values_of(value_set)) == []


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_manifest_validates_against_kubernetes_schemas(value_set: str) -> None:
    objs = objects(value_set)
    assert len(objs) >= 14 + 4  # the Deployments and the migration Jobs at the least
    assert check.validate(objs) == []
    assert check.kube_versions()[0] == "1.30.0"


def test_the_validator_catches_a_broken_manifest() -> None:
    deployment = kinds(objects("defaults"), "Deployment")[0]
    wrong_type = merged(deployment, {"spec": {"replicas": "two"}})
    assert any("replicas" in p for p in check.validate([wrong_type]))
    unknown_field = merged(deployment, {"spec": {"replicaCount": 2}})  # strict: no extras
    assert any("replicaCount" in p for p in check.validate([unknown_field]))
    unknown = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "x"}}
    assert check.validate([unknown]), "objects without a schema must not pass silently"


def test_check_script_passes_on_ci_values_and_writes_manifests(tmp_path: Path) -> None:
    assert check.main(["--out", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.rglob("*.yaml"))
    assert "deployments.yaml" in written and "jobs.yaml" in written
    bad = check.main(
        ["-f", str(CI_DIR / "minimal-values.yaml"), "--set", "roleDefaults.relay.replicas=2"]
    )
    assert bad == 1


# --- Deployments ---------------------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_one_deployment_per_service_role(value_set: str) -> None:
    deployments = by_component(objects(value_set), "Deployment")
    assert set(deployments) == COMPONENTS
    assert len(kinds(objects(value_set), "Deployment")) == 14
    for component, d in deployments.items():
        svc, role = component.split("-")
        container = d["spec"]["template"]["spec"]["containers"]
        assert len(container) == 1
        assert container[0]["args"] == [role]
        assert container[0]["image"].endswith(f"/vein2vein/{svc}:0.1.0")


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_container_is_locked_down(value_set: str) -> None:
    for name, spec in pod_specs(objects(value_set)):
        pod = spec.get("securityContext", {})
        assert pod.get("runAsNonRoot") is True, name
        assert pod.get("runAsUser") == 10001 and pod.get("runAsGroup") == 10001, name
        assert pod.get("fsGroup") == 10001, name
        assert pod.get("seccompProfile", {}).get("type") == "RuntimeDefault", name
        assert spec.get("automountServiceAccountToken") is False, name
        tmp = [v for v in spec["volumes"] if v["name"] == "tmp"]
        assert tmp and "emptyDir" in tmp[0], name
        for c in spec["containers"]:
            sc = c.get("securityContext", {})
            assert sc.get("runAsNonRoot", pod.get("runAsNonRoot")) is True, name
            assert sc.get("runAsUser", pod.get("runAsUser")) != 0, name
            assert sc.get("readOnlyRootFilesystem") is True, name
            assert sc.get("allowPrivilegeEscalation") is False, name
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], name
            assert {"name": "tmp", "mountPath": "/tmp"}.items() <= {
                k: v for m in c["volumeMounts"] if m["name"] == "tmp" for k, v in m.items()
            }.items(), name
            limits = c.get("resources", {}).get("limits", {})
            requests = c.get("resources", {}).get("requests", {})
            assert {"cpu", "memory"} <= set(limits) and {"cpu", "memory"} <= set(requests), name


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_long_running_container_has_probes(value_set: str) -> None:
    for component, d in by_component(objects(value_set), "Deployment").items():
        (c,) = d["spec"]["template"]["spec"]["containers"]
        port = "http" if component.endswith("-api") else "health"
        number = 8080 if port == "http" else 8081
        assert c["ports"] == [{"name": port, "containerPort": number, "protocol": "TCP"}]
        assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port}, component
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}, component


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_relay_runs_exactly_once_and_is_never_autoscaled(value_set: str) -> None:
    objs = objects(value_set)
    deployments = by_component(objs, "Deployment")
    relays = {c: d for c, d in deployments.items() if c.endswith("-relay")}
    assert len(relays) == 4
    for component, d in relays.items():
        assert d["spec"]["replicas"] == 1, component
        # Not even two during a rollout: the old pod stops before the new one starts.
        assert d["spec"]["strategy"] == {"type": "Recreate"}, component
    targets = {h["spec"]["scaleTargetRef"]["name"] for h in kinds(objs, "HorizontalPodAutoscaler")}
    assert not {d["metadata"]["name"] for d in relays.values()} & targets
    assert not [c for c in by_component(objs, "PodDisruptionBudget") if c.endswith("-relay")]


def test_hpa_and_pdb_for_api_and_consumer_roles_when_enabled() -> None:
    objs = objects("production-values.yaml")
    deployments = by_component(objs, "Deployment")
    hpas = by_component(objs, "HorizontalPodAutoscaler")
    pdbs = by_component(objs, "PodDisruptionBudget")
    scaled = {f"{svc}-{role}" for svc in DOMAIN_SERVICES for role in ("api", "consumer")}
    assert scaled <= set(hpas) and scaled <= set(pdbs)
    for component in scaled:
        hpa = hpas[component]
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": deployments[component]["metadata"]["name"],
        }
        # The HPA owns the replica count: the Deployment must not reset it on upgrade.
        assert "replicas" not in deployments[component]["spec"]
        selector = pdbs[component]["spec"]["selector"]["matchLabels"]
        assert (
            selector.items()
            <= deployments[component]["spec"]["template"]["metadata"]["labels"].items()
        )
        if component.endswith("-consumer"):
            # A consumer group member per partition at most (12 per topic).
            assert hpa["spec"]["maxReplicas"] <= 12
    # Defaults: the APIs autoscale, the consumers keep their fixed count.
    default_hpas = by_component(objects("defaults"), "HorizontalPodAutoscaler")
    assert set(default_hpas) == {f"{svc}-api" for svc in DOMAIN_SERVICES}
    assert {f"{svc}-consumer" for svc in DOMAIN_SERVICES} <= set(
        by_component(objects("defaults"), "PodDisruptionBudget")
    )


def test_hpa_pdb_and_network_policies_can_be_disabled() -> None:
    objs = objects("disabled-values.yaml")
    for kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"):
        assert kinds(objs, kind) == [], kind
    for d in kinds(objs, "Deployment"):
        assert isinstance(d["spec"]["replicas"], int)


# --- hooks: migrations, topics, search attributes --------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_migration_jobs_are_pre_install_and_pre_upgrade_hooks(value_set: str) -> None:
    jobs = by_component(objects(value_set), "Job")
    for svc in (*DOMAIN_SERVICES, "journey"):
        job = jobs[f"{svc}-migrate"]
        notes = job["metadata"]["annotations"]
        assert notes[HOOK] == "pre-install,pre-upgrade"
        assert notes[HOOK_DELETE] == "before-hook-creation,hook-succeeded"
        assert int(notes[HOOK_WEIGHT]) == 0
        (c,) = job["spec"]["template"]["spec"]["containers"]
        assert c["args"] == ["migrate"] and "command" not in c  # the image's entrypoint
        assert c["image"].endswith(f"/vein2vein/{svc}:0.1.0")
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
        env = effective_env(objects(value_set), c)
        assert (
            env["V2V_DATABASE_URL"]
            == {"secretKeyRef": {"name": f"vein2vein-{svc}-database", "key": "url"}}
            or value_set == "production-values.yaml"
        )


def test_provisioning_jobs_are_hooks_that_run_before_the_migrations() -> None:
    objs = objects("production-values.yaml")
    jobs = by_component(objs, "Job")
    topics = jobs["topics"]
    (c,) = topics["spec"]["template"]["spec"]["containers"]
    assert c["command"] == ["python", "-m", "v2v_runtime.provision"]
    bootstrap = values_of("production-values.yaml")["kafka"]["bootstrapServers"]
    expected = f"--bootstrap {bootstrap} --replication-factor 3 --min-insync-replicas 2"
    assert c["args"] == expected.split()
    search = jobs["search-attributes"]
    (s,) = search["spec"]["template"]["spec"]["containers"]
    assert s["command"] == ["python", "-m", "v2v_journey.provision"]
    assert s["image"].endswith("/vein2vein/journey:0.1.0")
    env = effective_env(objs, s)
    assert env["V2V_TEMPORAL_ADDRESS"] == "temporal-frontend.temporal.svc.cluster.local:7233"
    assert env["V2V_TEMPORAL_NAMESPACE"] == "vein2vein-prod"
    assert env["V2V_TEMPORAL_TLS_CERT"] == "/etc/vein2vein/temporal-tls/tls.crt"
    for job in (topics, search):
        assert job["metadata"]["annotations"][HOOK] == "pre-install,pre-upgrade"
        assert int(job["metadata"]["annotations"][HOOK_WEIGHT]) < 0
    cloud = by_component(objects("temporal-cloud-values.yaml"), "Job")
    assert "search-attributes" not in cloud and "topics" in cloud


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_hooks_only_use_what_exists_before_the_release(value_set: str) -> None:
    """A pre-install hook runs before the release's own objects exist: whatever a hook Job
    uses from the chart must itself be a hook of a lower weight, or be given inline."""
    objs = objects(value_set)
    hooks = {(o["kind"], o["metadata"]["name"]): o for o in objs if is_hook(o)}
    for job in kinds(objs, "Job"):
        assert is_hook(job)
        weight = int(job["metadata"]["annotations"][HOOK_WEIGHT])
        spec = job["spec"]["template"]["spec"]
        chart_objects = {(o["kind"], o["metadata"]["name"]) for o in objs}
        used = {("ServiceAccount", spec["serviceAccountName"])}
        for c in spec["containers"]:
            assert "envFrom" not in c, "the release's ConfigMap does not exist yet"
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("configMapKeyRef")
                if ref:
                    used.add(("ConfigMap", ref["name"]))
        for v in spec["volumes"]:
            if "configMap" in v:
                used.add(("ConfigMap", v["configMap"]["name"]))
        for kind_name in used & chart_objects:
            hook = hooks.get(kind_name)
            assert hook is not None, f"{job['metadata']['name']} uses {kind_name}, not a hook"
            assert int(hook["metadata"]["annotations"][HOOK_WEIGHT]) < weight
            assert "pre-install" in hook["metadata"]["annotations"][HOOK]
        # The settings the ConfigMap gives the Deployments, the Job has inline.
        configmap = kinds(objs, "ConfigMap")[0]["data"]
        env = {e["name"]: e.get("value") for c in spec["containers"] for e in c.get("env", [])}
        assert {k: env.get(k) for k in configmap} == configmap
    if kinds(objs, "NetworkPolicy"):
        policy = hooks[("NetworkPolicy", "vein2vein-hooks")]
        assert policy["spec"]["podSelector"]["matchLabels"]["vein2vein.org/hook"] == "true"
        for job in kinds(objs, "Job"):
            assert job["spec"]["template"]["metadata"]["labels"]["vein2vein.org/hook"] == "true"


# --- secrets, config, telemetry ------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_secrets_are_referenced_never_inlined(value_set: str) -> None:
    objs = objects(value_set)
    assert kinds(objs, "Secret") == []
    secretish = ("PASSWORD", "SECRET", "API_KEY", "DATABASE_URL", "TOKEN")
    for cm in kinds(objs, "ConfigMap"):
        assert not [k for k in cm.get("data", {}) if any(s in k for s in secretish)]
    for name, spec in pod_specs(objs):
        for c in spec["containers"]:
            for e in c.get("env", []):
                if any(s in e["name"] for s in secretish):
                    assert set(e) == {"name", "valueFrom"}, (name, e["name"])
                    assert "secretKeyRef" in e["valueFrom"], (name, e["name"])


def test_production_secret_references() -> None:
    objs = objects("production-values.yaml")
    deployments = by_component(objs, "Deployment")
    for component, d in deployments.items():
        (c,) = d["spec"]["template"]["spec"]["containers"]
        env = effective_env(objs, c)
        svc = component.split("-")[0]
        assert env["V2V_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert env["V2V_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        # One Kafka principal per service (services.<svc>.kafka.sasl).
        assert env["V2V_KAFKA_SASL_USERNAME"] == f"vein2vein-{svc}"
        assert env["V2V_KAFKA_SASL_PASSWORD"] == {
            "secretKeyRef": {"name": f"vein2vein-{svc}", "key": "password"}
        }
        assert env["V2V_KAFKA_SSL_CAFILE"] == "/etc/vein2vein/kafka-ca/ca.crt"
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        assert mounts["kafka-ca"] == "/etc/vein2vein/kafka-ca"
        volumes = {v["name"]: v for v in d["spec"]["template"]["spec"]["volumes"]}
        assert volumes["kafka-ca"]["secret"]["secretName"] == "vein2vein-kafka-ca"
        if svc == "journey":
            assert env["V2V_DATABASE_URL"] == {"secretKeyRef": {"name": "journey-db", "key": "url"}}
            assert env["V2V_TEMPORAL_TLS_KEY"] == "/etc/vein2vein/temporal-tls/tls.key"
            assert volumes["temporal-tls"]["secret"]["secretName"] == "vein2vein-temporal-mtls"
            assert volumes["temporal-tls"]["secret"]["defaultMode"] == 0o440
            assert env["V2V_POLICY"] == "default"
        else:
            assert env["V2V_DATABASE_URL"] == {"secretKeyRef": {"name": f"{svc}-db", "key": "url"}}
            assert "temporal-tls" not in volumes and "V2V_TEMPORAL_TLS_KEY" not in env
    cloud = objects("temporal-cloud-values.yaml")
    worker = by_component(cloud, "Deployment")["journey-worker"]
    env = effective_env(cloud, worker["spec"]["template"]["spec"]["containers"][0])
    assert env["V2V_TEMPORAL_API_KEY"] == {
        "secretKeyRef": {"name": "vein2vein-temporal-api-key", "key": "api-key"}
    }


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_runtime_settings_reach_every_role(value_set: str) -> None:
    objs = objects(value_set)
    values = values_of(value_set)
    for component, d in by_component(objs, "Deployment").items():
        (c,) = d["spec"]["template"]["spec"]["containers"]
        env = effective_env(objs, c)
        assert env["V2V_KAFKA_BOOTSTRAP_SERVERS"] == values["kafka"]["bootstrapServers"]
        assert env["V2V_TEMPORAL_ADDRESS"] == values["temporal"]["address"]
        assert env["V2V_HTTP_HOST"] == "0.0.0.0"  # noqa: S104 (the pods listen on all)
        assert env["V2V_HTTP_PORT"] == "8080" and env["V2V_HEALTH_PORT"] == "8081"
        assert env["V2V_LOG_JSON"] == "true"
        assert env["OTEL_SERVICE_NAME"] == f"vein2vein-{component}"
        assert "k8s.namespace.name=vein2vein" in env["OTEL_RESOURCE_ATTRIBUTES"]


def test_checksum_annotation_follows_the_configmap() -> None:
    def checksums(values: dict[str, Any]) -> tuple[set[str], str]:
        rendered = render(values)
        objs = check.manifests(rendered)
        sums = {
            d["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
            for d in kinds(objs, "Deployment")
        }
        configmap = next(t for p, t in rendered.items() if p.endswith("/configmap.yaml"))
        return sums, hashlib.sha256(configmap.encode()).hexdigest()

    before, configmap_sum = checksums(values_of("defaults"))
    assert before == {configmap_sum}
    assert checksums(values_of("defaults"))[0] == before  # stable
    after, _ = checksums(merged(values_of("defaults"), {"config": {"logLevel": "DEBUG"}}))
    assert len(after) == 1 and after != before
    moved, _ = checksums(
        merged(values_of("defaults"), {"kafka": {"bootstrapServers": "other.example:9092"}})
    )
    assert moved != before


def test_otel_endpoint_present_when_set_and_absent_when_not() -> None:
    endpoint = "http://collector.observability.svc:4318"
    with_otel = objects_of(merged(values_of("defaults"), {"otel": {"endpoint": endpoint}}))
    without = objects("defaults")
    for objs, expected in ((with_otel, endpoint), (without, None)):
        for name, spec in pod_specs(objs):
            if name.startswith("Pod/"):
                continue  # the chart test pod exports nothing
            for c in spec["containers"]:
                env = effective_env(objs, c)
                assert env.get("OTEL_EXPORTER_OTLP_ENDPOINT") == expected, name
                if expected:
                    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf", name
                else:
                    assert "OTEL_EXPORTER_OTLP_PROTOCOL" not in env, name
    egress = [r for p in kinds(with_otel, "NetworkPolicy") for r in p["spec"]["egress"]]
    otlp = [r for r in egress if {"protocol": "TCP", "port": 4318} in r["ports"]]
    assert otlp, "egress to the collector when an endpoint is set"


# --- network policies ----------------------------------------------------------------


def test_network_policies_restrict_ingress_and_egress() -> None:
    objs = objects("production-values.yaml")
    policies = {p["metadata"]["name"]: p["spec"] for p in kinds(objs, "NetworkPolicy")}
    api, workers = policies["vein2vein-api"], policies["vein2vein-workers"]
    assert api["podSelector"]["matchLabels"]["vein2vein.org/role"] == "api"
    assert [r["ports"] for r in api["ingress"]] == [[{"protocol": "TCP", "port": "http"}]]
    assert {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
    } in api["ingress"][0]["from"]
    assert workers["ingress"] == []
    worker_roles = set(workers["podSelector"]["matchExpressions"][0]["values"])
    assert worker_roles == {"consumer", "relay", "worker", "bridge"}
    for spec in (api, workers):
        assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
        ports = {(p["protocol"], p["port"]) for r in spec["egress"] for p in r["ports"]}
        # Only the APIs verify tokens and sign: only they reach the identity provider (8443
        # here) and the mail relay of security notices (25).
        api_only = {("TCP", 8443), ("TCP", 25)} if spec is api else set()
        assert ports == {
            ("UDP", 53),
            ("TCP", 53),
            ("TCP", 9093),
            ("TCP", 7233),
            ("TCP", 5432),
            ("TCP", 4318),
            *api_only,
        }
        to = [peer for r in spec["egress"] for peer in r.get("to", [])]
        assert {"ipBlock": {"cidr": "10.20.0.0/24"}} in to
        assert {"ipBlock": {"cidr": "10.30.1.0/24"}} in to
    # Every pod of the release is selected by one of them.
    deployments = kinds(objs, "Deployment")
    for d in deployments:
        role = d["spec"]["template"]["metadata"]["labels"]["vein2vein.org/role"]
        assert role == "api" or role in worker_roles


def test_api_services_and_chart_test() -> None:
    objs = objects("defaults")
    services = {s["metadata"]["name"]: s["spec"] for s in kinds(objs, "Service")}
    assert set(services) == {f"vein2vein-{svc}" for svc in DOMAIN_SERVICES}
    for name, spec in services.items():
        assert spec["type"] == "ClusterIP"
        assert spec["ports"] == [
            {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
        ]
        assert spec["selector"]["app.kubernetes.io/component"] == f"{name.split('-')[1]}-api"
    (pod,) = kinds(objs, "Pod")
    assert pod["metadata"]["annotations"][HOOK] == "test"
    urls = pod["spec"]["containers"][0]["args"][1:]
    assert urls == [f"http://vein2vein-{svc}:80/readyz" for svc in sorted(DOMAIN_SERVICES)]
    (sa,) = [s for s in kinds(objs, "ServiceAccount") if not is_hook(s)]
    assert sa["automountServiceAccountToken"] is False


def test_labels_follow_the_recommended_set() -> None:
    for o in objects("defaults"):
        labels = o["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "vein2vein", o["metadata"]["name"]
        assert labels["app.kubernetes.io/instance"] == "vein2vein"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/part-of"] == "vein2vein"
        assert labels["app.kubernetes.io/version"] == "0.1.0"


def test_per_role_overrides_win_over_role_kind_defaults() -> None:
    values = merged(
        values_of("defaults"),
        {
            "defaults": {"nodeSelector": {"pool": "gmp"}},
            "roleDefaults": {"consumer": {"replicas": 3}},
            "services": {
                "qc": {"roles": {"consumer": {"replicas": 5, "env": {"V2V_LOG_LEVEL": "DEBUG"}}}},
                "custody": {"roles": {"api": {"autoscaling": {"enabled": False}, "replicas": 4}}},
            },
        },
    )
    objs = objects_of(values)
    deployments = by_component(objs, "Deployment")
    assert deployments["qc-consumer"]["spec"]["replicas"] == 5
    assert deployments["batch-consumer"]["spec"]["replicas"] == 3
    assert deployments["custody-api"]["spec"]["replicas"] == 4
    assert "custody-api" not in by_component(objs, "HorizontalPodAutoscaler")
    assert "batch-api" in by_component(objs, "HorizontalPodAutoscaler")
    (c,) = deployments["qc-consumer"]["spec"]["template"]["spec"]["containers"]
    assert effective_env(objs, c)["V2V_LOG_LEVEL"] == "DEBUG"
    for d in deployments.values():
        assert d["spec"]["template"]["spec"]["nodeSelector"] == {"pool": "gmp"}


# --- the schema rejects bad values -----------------------------------------------------


BAD_VALUES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "relay replicas 2 (role kind)": lambda v: merged(
        v, {"roleDefaults": {"relay": {"replicas": 2}}}
    ),
    "relay replicas 2 (one service)": lambda v: merged(
        v, {"services": {"custody": {"roles": {"relay": {"replicas": 2}}}}}
    ),
    "relay autoscaling": lambda v: merged(
        v, {"roleDefaults": {"relay": {"autoscaling": {"enabled": True}}}}
    ),
    "consumer replicas above the partitions": lambda v: merged(
        v, {"roleDefaults": {"consumer": {"replicas": 13}}}
    ),
    "negative replicas": lambda v: merged(v, {"roleDefaults": {"api": {"replicas": -1}}}),
    "invalid securityProtocol": lambda v: merged(v, {"kafka": {"securityProtocol": "TLS"}}),
    "invalid SASL mechanism": lambda v: merged(
        v,
        {
            "kafka": {
                "securityProtocol": "SASL_SSL",
                "sasl": {"mechanism": "GSSAPI", "existingSecret": "s"},
            }
        },
    ),
    "SASL without a credentials Secret": lambda v: merged(
        v, {"kafka": {"securityProtocol": "SASL_SSL"}}
    ),
    "Temporal mTLS without a Secret": lambda v: merged(v, {"temporal": {"tls": {"enabled": True}}}),
    "missing kafka.bootstrapServers": lambda v: {
        **v,
        "kafka": {k: x for k, x in v["kafka"].items() if k != "bootstrapServers"},
    },
    "empty kafka.bootstrapServers": lambda v: merged(v, {"kafka": {"bootstrapServers": ""}}),
    "missing temporal.address": lambda v: merged(v, {"temporal": {"address": ""}}),
    "missing image registry": lambda v: merged(v, {"image": {"registry": ""}}),
    "unknown top-level key": lambda v: merged(v, {"replicaCount": 3}),
    "unknown role": lambda v: merged(v, {"services": {"custody": {"roles": {"worker": {}}}}}),
    "unknown service": lambda v: merged(v, {"services": {"billing": {}}}),
    "otel protocol other than http/protobuf": lambda v: merged(v, {"otel": {"protocol": "grpc"}}),
    "database secret without a name": lambda v: merged(
        v, {"services": {"qc": {"database": {"existingSecret": ""}}}}
    ),
    "oidc issuer not a URL": lambda v: merged(v, {"oidc": {"issuer": "login.example.com"}}),
    "oidc issuer with a query": lambda v: merged(
        v, {"oidc": {"issuer": "https://login.example.com/realms/x?y=1"}}
    ),
    "oidc discoveryUrl not http(s)": lambda v: merged(
        v, {"oidc": {"discoveryUrl": "ftp://idp.example.com/.well-known/openid-configuration"}}
    ),
    "oidc HMAC algorithm": lambda v: merged(v, {"oidc": {"algorithms": ["RS256", "HS256"]}}),
    "oidc algorithm none": lambda v: merged(v, {"oidc": {"algorithms": ["none"]}}),
    "oidc leeway above 300 s": lambda v: merged(v, {"oidc": {"leewaySeconds": 301}}),
    "oidc roles claim with a comma": lambda v: merged(
        v, {"oidc": {"claims": {"roles": ["roles,groups"]}}}
    ),
    "unknown oidc key": lambda v: merged(v, {"oidc": {"clientSecret": "x"}}),
    "unknown oidc claim": lambda v: merged(v, {"oidc": {"claims": {"email": "email"}}}),
    "oidc allowInsecureHttp not a boolean": lambda v: merged(
        v, {"oidc": {"allowInsecureHttp": "yes"}}
    ),
    "service Kafka principal without a Secret": lambda v: merged(
        v, {"services": {"qc": {"kafka": {"sasl": {"username": "vein2vein-qc"}}}}}
    ),
    "unknown key in a service's kafka": lambda v: merged(
        v, {"services": {"qc": {"kafka": {"tls": {}}}}}
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_schema_rejects_bad_values(case: str) -> None:
    values = BAD_VALUES[case](values_of("defaults"))
    with pytest.raises(helm.HelmValuesError):
        render(values)
    assert check.lint(values), "helm lint --strict must fail too"


def test_cross_field_rules_fail_the_render() -> None:
    isr = merged(values_of("defaults"), {"kafka": {"topics": {"minInsyncReplicas": 4}}})
    with pytest.raises(helm.HelmRenderError, match="minInsyncReplicas"):
        render(isr)
    hpa = merged(
        values_of("defaults"),
        {"roleDefaults": {"api": {"autoscaling": {"minReplicas": 7, "maxReplicas": 6}}}},
    )
    with pytest.raises(helm.HelmRenderError, match="minReplicas exceeds maxReplicas"):
        render(hpa)


def test_chart_metadata() -> None:
    with helm.Chart.load(check.CHART_DIR) as chart:
        meta = chart.metadata
        schema = chart.schema
    assert meta["apiVersion"] == "v2"
    assert meta["kubeVersion"] == ">=1.30.0-0"
    assert schema is not None
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False


def test_an_existing_service_account_is_used_by_every_pod() -> None:
    values = merged(values_of("defaults"), {"serviceAccount": {"create": False, "name": "site-sa"}})
    objs = objects_of(values)
    assert kinds(objs, "ServiceAccount") == []
    for name, spec in pod_specs(objs):
        assert spec["serviceAccountName"] == "site-sa", name
    nameless = merged(values_of("defaults"), {"serviceAccount": {"create": False}})
    with pytest.raises(helm.HelmRenderError, match=r"serviceAccount\.name is required"):
        render(nameless)


# --- sign-in: the OpenID Connect provider ----------------------------------------------


def oidc_env(objs: list[dict[str, Any]], component: str) -> dict[str, str]:
    """The V2V_OIDC_* settings one Deployment's container sees."""
    (c,) = by_component(objs, "Deployment")[component]["spec"]["template"]["spec"]["containers"]
    return {k: v for k, v in effective_env(objs, c).items() if k.startswith("V2V_OIDC_")}


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> OidcSettings:
    """What the API process makes of that environment (the runtime's own settings class)."""
    for name in [n for n in os.environ if n.startswith("V2V_OIDC_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return OidcSettings()  # the issuer comes from the environment


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_api_pod_gets_the_issuer(value_set: str, monkeypatch: pytest.MonkeyPatch) -> None:
    objs = objects(value_set)
    issuer = values_of(value_set)["oidc"]["issuer"]
    for svc in DOMAIN_SERVICES:
        env = oidc_env(objs, f"{svc}-api")
        assert env["V2V_OIDC_ISSUER"] == issuer
        assert settings_from(env, monkeypatch).issuer == issuer


def test_defaults_render_the_issuer_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset settings stay out of the ConfigMap: the runtime's defaults apply."""
    env = oidc_env(objects("defaults"), "custody-api")
    assert env == {"V2V_OIDC_ISSUER": SITE_REQUIRED["oidc"]["issuer"]}
    settings = settings_from(env, monkeypatch)
    assert settings.audience == "vein2vein-api"
    assert settings.roles_claim == ("realm_access.roles",)
    issuer = SITE_REQUIRED["oidc"]["issuer"]
    assert settings.discovery == f"{issuer}/.well-known/openid-configuration"


def test_every_oidc_value_reaches_the_runtime_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    oidc = {
        "issuer": "https://login.microsoftonline.com/tenant-1/v2.0",
        "audience": "api://vein2vein",
        "discoveryUrl": "https://idp.iam.svc:8443/tenant-1/v2.0/.well-known/openid-configuration",
        "claims": {
            "roles": ["roles", "scp"],
            "sites": "extn.sites",
            "name": "display_name",
            "username": "upn",
            "machine": "idtyp=app",
        },
        "algorithms": ["RS256", "PS256"],
        "leewaySeconds": 0,
    }
    objs = objects_of(merged(values_of("defaults"), {"oidc": oidc}))
    env = oidc_env(objs, "qc-api")
    assert env["V2V_OIDC_LEEWAY_S"] == "0"  # zero is a value, not "unset"
    assert "V2V_OIDC_ALLOW_INSECURE_HTTP" not in env
    s = settings_from(env, monkeypatch)
    assert (s.issuer, s.audience, s.discovery) == (
        oidc["issuer"],
        oidc["audience"],
        oidc["discoveryUrl"],
    )
    assert s.roles_claim == ("roles", "scp")
    assert (s.sites_claim, s.name_claim, s.username_claim, s.machine_claim) == (
        "extn.sites",
        "display_name",
        "upn",
        "idtyp=app",
    )
    assert s.algorithms == ("RS256", "PS256")
    assert s.leeway_s == 0
    assert s.allow_insecure_http is False
    # The ConfigMap feeds every pod; the journey ignores these (it serves no API).
    assert oidc_env(objs, "journey-worker") == env


def test_a_missing_issuer_fails_the_render_with_a_clear_message() -> None:
    given_empty = merged(values_of("defaults"), {"oidc": {"issuer": ""}})
    not_given = {k: v for k, v in values_of("defaults").items() if k != "oidc"}
    for values in (given_empty, not_given):
        with pytest.raises(helm.HelmRenderError, match=r"oidc\.issuer is required"):
            render(values)
    # helm lint only logs a template's `fail` (Helm's lint mode); check.py renders too.
    minimal = str(CI_DIR / "minimal-values.yaml")
    assert check.main(["-f", minimal, "--set", "oidc.issuer="]) == 1


@pytest.mark.requirement("21CFR11.30")
def test_plain_http_provider_only_when_explicitly_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = {"issuer": "http://keycloak.test.svc:8080/realms/vein2vein"}
    with pytest.raises(helm.HelmRenderError, match=r"oidc\.issuer .* is plain http"):
        render(merged(values_of("defaults"), {"oidc": plain}))
    via = {"discoveryUrl": "http://keycloak.iam.svc:8080/realms/vein2vein/.well-known/x"}
    with pytest.raises(helm.HelmRenderError, match=r"oidc\.discoveryUrl .* is plain http"):
        render(merged(values_of("defaults"), {"oidc": via}))
    allowed = merged(values_of("defaults"), {"oidc": {**plain, "allowInsecureHttp": True}})
    env = oidc_env(objects_of(allowed), "batch-api")
    assert env["V2V_OIDC_ALLOW_INSECURE_HTTP"] == "true"
    assert settings_from(env, monkeypatch).allow_insecure_http is True
    # The loopback needs no exception (the runtime allows it too).
    loopback = {"issuer": "http://localhost:18080/realms/vein2vein"}
    assert objects_of(merged(values_of("defaults"), {"oidc": loopback}))


def test_api_pods_may_reach_the_identity_provider_and_no_other_pod() -> None:
    def egress_ports(objs: list[dict[str, Any]]) -> dict[str, set[int]]:
        return {
            p["metadata"]["name"]: {x["port"] for r in p["spec"]["egress"] for x in r["ports"]}
            for p in kinds(objs, "NetworkPolicy")
        }

    default = egress_ports(objects("defaults"))
    assert 443 in default["vein2vein-api"]
    assert 443 not in default["vein2vein-workers"] and 443 not in default["vein2vein-hooks"]
    production = objects("production-values.yaml")
    (rule,) = [
        r
        for p in kinds(production, "NetworkPolicy")
        if p["metadata"]["name"] == "vein2vein-api"
        for r in p["spec"]["egress"]
        if {"protocol": "TCP", "port": 8443} in r["ports"]
    ]
    assert rule["to"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "iam"}}}
    ]


# --- Kafka principals ------------------------------------------------------------------


def test_each_service_may_have_its_own_kafka_principal() -> None:
    objs = objects("production-values.yaml")
    jobs = by_component(objs, "Job")
    for svc in (*DOMAIN_SERVICES, "journey"):
        (c,) = jobs[f"{svc}-migrate"]["spec"]["template"]["spec"]["containers"]
        env = effective_env(objs, c)
        assert env["V2V_KAFKA_SASL_USERNAME"] == f"vein2vein-{svc}"
    # The topic provisioning Job is the principal of kafka.sasl (allowed to create topics).
    (topics,) = jobs["topics"]["spec"]["template"]["spec"]["containers"]
    env = effective_env(objs, topics)
    assert env["V2V_KAFKA_SASL_USERNAME"] == {
        "secretKeyRef": {"name": "vein2vein-kafka-credentials", "key": "username"}
    }
    assert env["V2V_KAFKA_SASL_PASSWORD"] == {
        "secretKeyRef": {"name": "vein2vein-kafka-credentials", "key": "password"}
    }


def test_a_service_without_its_own_principal_uses_the_shared_one() -> None:
    sasl = {
        "securityProtocol": "SASL_SSL",
        "sasl": {"existingSecret": "kafka-shared", "username": "vein2vein"},
    }
    own = {"kafka": {"sasl": {"existingSecret": "kafka-qc"}}}  # user name from the Secret
    objs = objects_of(merged(values_of("defaults"), {"kafka": sasl, "services": {"qc": own}}))
    for component, d in by_component(objs, "Deployment").items():
        (c,) = d["spec"]["template"]["spec"]["containers"]
        env = effective_env(objs, c)
        if component.startswith("qc-"):
            assert env["V2V_KAFKA_SASL_USERNAME"] == {
                "secretKeyRef": {"name": "kafka-qc", "key": "username"}
            }, component
            assert env["V2V_KAFKA_SASL_PASSWORD"]["secretKeyRef"]["name"] == "kafka-qc"
        else:
            assert env["V2V_KAFKA_SASL_USERNAME"] == "vein2vein", component
            assert env["V2V_KAFKA_SASL_PASSWORD"]["secretKeyRef"]["name"] == "kafka-shared"


def test_a_service_principal_without_sasl_fails_the_render() -> None:
    own = {"services": {"batch": {"kafka": {"sasl": {"existingSecret": "kafka-batch"}}}}}
    with pytest.raises(helm.HelmRenderError, match=r"services\.batch\.kafka\.sasl is set"):
        render(merged(values_of("defaults"), own))


# --- electronic signatures ------------------------------------------------------------

SIGNING_CM = "vein2vein-signing"
RELAY = {"securityContact": "security@site.example", "smtp": {"host": "smtp.site.example"}}


def signing_env(objs: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, Any]:
    """The V2V_SIGNING_* settings (values, or Secret references) a container sees."""
    env = effective_env(objs, container)
    return {k: v for k, v in env.items() if k.startswith("V2V_SIGNING_")}


def containers(objs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(component, container) of every pod of a render: Deployments, Jobs, the test Pod."""
    for name, spec in pod_specs(objs):
        for c in spec["containers"]:
            yield name, c


def signing_values(signing: dict[str, Any]) -> dict[str, Any]:
    return merged(values_of("defaults"), {"signing": signing})


def signing_settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> SigningSettings:
    """What an API process makes of that environment (the runtime's own settings class)."""
    for name in [n for n in os.environ if n.startswith("V2V_SIGNING_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return SigningSettings()


@pytest.mark.parametrize("value_set", ["defaults", "minimal-values.yaml"])
def test_defaults_render_no_signing_setting(
    value_set: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing given, nothing rendered: the runtime's defaults apply, as the docs say."""
    objs = objects(value_set)
    assert SIGNING_CM not in {c["metadata"]["name"] for c in kinds(objs, "ConfigMap")}
    for name, c in containers(objs):
        assert signing_env(objs, c) == {}, name
    for d in kinds(objs, "Deployment"):
        assert "checksum/signing" not in d["spec"]["template"]["metadata"]["annotations"]
    s = signing_settings_from({}, monkeypatch)
    assert (s.client_id, s.client_secret, s.token_url) == ("vein2vein-signing", None, None)
    assert (s.security_contact, s.smtp_host, s.time_zone) == (None, None, "UTC")


def test_the_client_secret_alone_renders_its_reference_in_the_api_pods() -> None:
    secret = {"existingSecret": "vein2vein-signing-client", "key": "secret"}
    objs = objects_of(signing_values({"clientSecret": secret}))
    ref = {"secretKeyRef": {"name": "vein2vein-signing-client", "key": "secret"}}
    assert SIGNING_CM not in {c["metadata"]["name"] for c in kinds(objs, "ConfigMap")}
    for component, d in by_component(objs, "Deployment").items():
        (c,) = d["spec"]["template"]["spec"]["containers"]
        expected = {"V2V_SIGNING_CLIENT_SECRET": ref} if component.endswith("-api") else {}
        assert signing_env(objs, c) == expected, component
    # The key defaults to client-secret.
    objs = objects_of(signing_values({"clientSecret": {"existingSecret": "sig"}}))
    (c,) = by_component(objs, "Deployment")["batch-api"]["spec"]["template"]["spec"]["containers"]
    assert signing_env(objs, c)["V2V_SIGNING_CLIENT_SECRET"] == {
        "secretKeyRef": {"name": "sig", "key": "client-secret"}
    }


EVERY_SIGNING_VALUE: dict[str, Any] = {
    "clientId": "v2v-sign",
    "clientSecret": {"existingSecret": "signing-client", "key": "client-secret"},
    "tokenUrl": "https://login.site.example/realms/v2v/protocol/openid-connect/token",
    "scope": "openid api://vein2vein/.default",
    "oneComponentInSession": True,
    "sessionIdleMinutes": 20,
    "failuresBeforeNotice": 4,
    "failureWindowMinutes": 30,
    "securityContact": "gmp-security@site.example",
    "smtp": {"host": "smtp-relay.mail.svc", "port": 2525, "sender": "vein2vein@site.example"},
    "timeZone": "Europe/Amsterdam",
}


def every_signing_value() -> dict[str, Any]:
    return merged(
        signing_values(EVERY_SIGNING_VALUE),
        {"networkPolicy": {"egress": {"smtp": {"ports": [2525]}}}},  # the relay's port
    )


@pytest.mark.requirement("21CFR11.300(d)")
def test_every_signing_value_reaches_the_runtime_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    objs = objects_of(every_signing_value())
    assert check.validate(objs) == []
    for svc in DOMAIN_SERVICES:
        d = by_component(objs, "Deployment")[f"{svc}-api"]
        (c,) = d["spec"]["template"]["spec"]["containers"]
        env = signing_env(objs, c)
        # The secret is a reference: the process gets the Secret's value under that name.
        assert env.pop("V2V_SIGNING_CLIENT_SECRET") == {
            "secretKeyRef": {"name": "signing-client", "key": "client-secret"}
        }
        s = signing_settings_from(
            {**env, "V2V_SIGNING_CLIENT_SECRET": "from-the-secret"}, monkeypatch
        )
        assert s.client_id == "v2v-sign"
        assert s.client_secret is not None
        assert s.client_secret.get_secret_value() == "from-the-secret"
        assert s.token_url == EVERY_SIGNING_VALUE["tokenUrl"]
        assert s.scope == EVERY_SIGNING_VALUE["scope"]
        assert s.one_component_in_session is True
        assert (s.session_idle_minutes, s.failures_before_notice, s.failure_window_minutes) == (
            20,
            4,
            30,
        )
        assert s.security_contact == "gmp-security@site.example"
        assert (s.smtp_host, s.smtp_port, s.smtp_sender) == (
            "smtp-relay.mail.svc",
            2525,
            "vein2vein@site.example",
        )
        assert s.time_zone == "Europe/Amsterdam"
    # An explicit false (and any number) is the site's choice, rendered as such.
    objs = objects_of(signing_values({"oneComponentInSession": False, "sessionIdleMinutes": 1}))
    (c,) = by_component(objs, "Deployment")["qc-api"]["spec"]["template"]["spec"]["containers"]
    env = signing_env(objs, c)
    assert env == {
        "V2V_SIGNING_ONE_COMPONENT_IN_SESSION": "false",
        "V2V_SIGNING_SESSION_IDLE_MINUTES": "1",
    }
    assert signing_settings_from(env, monkeypatch).one_component_in_session is False


def test_only_the_api_pods_get_signing_settings() -> None:
    """The journey serves no API and signs nothing; consumers, relays and hook Jobs neither."""
    objs = objects_of(every_signing_value())
    (cm,) = [c for c in kinds(objs, "ConfigMap") if c["metadata"]["name"] == SIGNING_CM]
    assert set(cm["data"]) == {
        f"V2V_SIGNING_{n}"
        for n in (
            "CLIENT_ID",
            "TOKEN_URL",
            "SCOPE",
            "ONE_COMPONENT_IN_SESSION",
            "SESSION_IDLE_MINUTES",
            "FAILURES_BEFORE_NOTICE",
            "FAILURE_WINDOW_MINUTES",
            "SECURITY_CONTACT",
            "SMTP_HOST",
            "SMTP_PORT",
            "SMTP_SENDER",
            "TIME_ZONE",
        )
    }
    signing_pods: set[str] = set()
    for name, c in containers(objs):
        sources = {s["configMapRef"]["name"] for s in c.get("envFrom", [])}
        if signing_env(objs, c) or SIGNING_CM in sources:
            signing_pods.add(name)
    assert signing_pods == {f"Deployment/vein2vein-{svc}-api" for svc in DOMAIN_SERVICES}
    shared = next(
        c for c in kinds(objs, "ConfigMap") if c["metadata"]["name"] == "vein2vein-config"
    )
    assert not [k for k in shared["data"] if k.startswith("V2V_SIGNING_")]


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_the_signing_secret_is_referenced_never_inlined(value_set: str) -> None:
    objs = objects(value_set)
    assert kinds(objs, "Secret") == []
    for cm in kinds(objs, "ConfigMap"):  # no ConfigMap carries the secret
        assert not [k for k in cm.get("data", {}) if "SECRET" in k], cm["metadata"]["name"]
    for name, c in containers(objs):
        for e in c.get("env", []):
            if e["name"] == "V2V_SIGNING_CLIENT_SECRET":
                assert set(e) == {"name", "valueFrom"}, name
                assert set(e["valueFrom"]) == {"secretKeyRef"}, name
    if value_set == "production-values.yaml":
        api = by_component(objs, "Deployment")["custody-api"]
        (c,) = api["spec"]["template"]["spec"]["containers"]
        assert signing_env(objs, c)["V2V_SIGNING_CLIENT_SECRET"] == {
            "secretKeyRef": {"name": "vein2vein-signing-client", "key": "client-secret"}
        }


def test_a_signing_change_rolls_the_api_pods_only() -> None:
    def annotations(values: dict[str, Any]) -> dict[str, dict[str, str]]:
        return {
            component: d["spec"]["template"]["metadata"]["annotations"]
            for component, d in by_component(objects_of(values), "Deployment").items()
        }

    before = annotations(signing_values({"timeZone": "Europe/Amsterdam"}))
    after = annotations(signing_values({"timeZone": "Europe/Berlin"}))
    for component in COMPONENTS:
        assert before[component]["checksum/config"] == after[component]["checksum/config"]
        if component.endswith("-api"):
            assert before[component]["checksum/signing"] != after[component]["checksum/signing"]
        else:
            assert "checksum/signing" not in before[component] | after[component], component


def test_the_api_pods_may_reach_the_mail_relay_when_there_is_one() -> None:
    def smtp_rules(objs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        return {
            p["metadata"]["name"]: [
                r for r in p["spec"]["egress"] if {"protocol": "TCP", "port": 25} in r["ports"]
            ]
            for p in kinds(objs, "NetworkPolicy")
        }

    without = smtp_rules(objects("defaults"))
    assert all(rules == [] for rules in without.values())
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "mail"}}}
    values = merged(
        signing_values(RELAY),
        {"networkPolicy": {"egress": {"smtp": {"cidrs": ["10.40.0.0/24"], "peers": [peer]}}}},
    )
    found = smtp_rules(objects_of(values))
    assert found["vein2vein-workers"] == [] and found["vein2vein-hooks"] == []
    assert found["vein2vein-api"] == [
        {
            "ports": [{"protocol": "TCP", "port": 25}],
            "to": [{"ipBlock": {"cidr": "10.40.0.0/24"}}, peer],
        }
    ]


def test_notes_say_where_security_notices_go() -> None:
    def notes(values: dict[str, Any]) -> str:
        text = next(t for p, t in render(values).items() if p.endswith("NOTES.txt"))
        return " ".join(text.split())

    assert "only logged at ERROR" in notes(values_of("defaults"))
    assert "no client secret given" in notes(values_of("defaults"))
    mailed = notes(merged(signing_values(RELAY), {"signing": {"smtp": {"port": 25}}}))
    assert "mailed to security@site.example via smtp.site.example:25" in mailed


BAD_SIGNING: dict[str, dict[str, Any]] = {
    "plain client secret": {"clientSecret": "s3cret"},
    "client secret value": {"clientSecret": {"value": "s3cret"}},
    "client secret in a bad Secret name": {"clientSecret": {"existingSecret": "Not_A_Name"}},
    "unknown signing key": {"password": "x"},
    "empty client id": {"clientId": ""},
    "token URL not http(s)": {"tokenUrl": "ftp://login.site.example/token"},
    "one component not a boolean": {"oneComponentInSession": "yes"},
    "idle minutes 0": {"sessionIdleMinutes": 0},
    "idle minutes above 480": {"sessionIdleMinutes": 481},
    "failures 0": {"failuresBeforeNotice": 0},
    "failures above 100": {"failuresBeforeNotice": 101},
    "window 0": {"failureWindowMinutes": 0},
    "contact not an address": {**RELAY, "securityContact": "security team"},
    "two contacts": {**RELAY, "securityContact": "a@site.example,b@site.example"},
    "smtp port 0": {**RELAY, "smtp": {"host": "smtp.site.example", "port": 0}},
    "smtp port above 65535": {**RELAY, "smtp": {"host": "smtp.site.example", "port": 65536}},
    "smtp host with a port": {**RELAY, "smtp": {"host": "smtp.site.example:25"}},
    "smtp host a URL": {**RELAY, "smtp": {"host": "smtp://smtp.site.example"}},
    "sender not an address": {**RELAY, "smtp": {"host": "smtp.site.example", "sender": "v2v"}},
    "unknown smtp key": {**RELAY, "smtp": {"host": "smtp.site.example", "tls": True}},
    "empty time zone": {"timeZone": ""},
    "time zone with a space": {"timeZone": "Europe/Amster dam"},
    "time zone an offset": {"timeZone": "+02:00"},
}


@pytest.mark.parametrize("case", sorted(BAD_SIGNING))
def test_schema_rejects_bad_signing_values(case: str) -> None:
    values = signing_values(BAD_SIGNING[case])
    with pytest.raises(helm.HelmValuesError):
        render(values)
    assert check.lint(values), "helm lint --strict must fail too"


@pytest.mark.requirement("21CFR11.300(d)")
def test_a_security_notice_needs_both_its_recipient_and_a_relay() -> None:
    """Either alone would be a notice that reaches nobody: the render says so."""
    contact_only = signing_values({"securityContact": "security@site.example"})
    with pytest.raises(helm.HelmRenderError, match=r"signing\.smtp\.host is not"):
        render(contact_only)
    relay_only = signing_values({"smtp": {"host": "smtp.site.example"}})
    with pytest.raises(helm.HelmRenderError, match=r"signing\.securityContact is not"):
        render(relay_only)
    minimal = str(CI_DIR / "minimal-values.yaml")
    assert check.main(["-f", minimal, "--set", "signing.securityContact=s@site.example"]) == 1
    assert objects_of(signing_values(RELAY))


def test_the_relay_port_must_be_open_to_the_api_pods() -> None:
    other_port = merged(signing_values(RELAY), {"signing": {"smtp": {"port": 587}}})
    with pytest.raises(helm.HelmRenderError, match=r"signing\.smtp\.port 587 is not in"):
        render(other_port)
    opened = merged(other_port, {"networkPolicy": {"egress": {"smtp": {"ports": [587]}}}})
    assert objects_of(opened)
    unrestricted = merged(other_port, {"networkPolicy": {"enabled": False}})
    assert kinds(objects_of(unrestricted), "NetworkPolicy") == []


def test_a_plain_http_token_endpoint_only_when_explicitly_allowed() -> None:
    plain = signing_values({"tokenUrl": "http://keycloak.iam.svc:8080/realms/v2v/token"})
    with pytest.raises(helm.HelmRenderError, match=r"signing\.tokenUrl .* is plain http"):
        render(plain)
    assert objects_of(merged(plain, {"oidc": {"allowInsecureHttp": True}}))
    assert objects_of(signing_values({"tokenUrl": "http://localhost:18080/realms/v2v/token"}))


def test_check_refuses_a_time_zone_outside_the_iana_database(
    capsys: pytest.CaptureFixture[str],
) -> None:
    minimal = str(CI_DIR / "minimal-values.yaml")
    assert check.main(["-f", minimal, "--set", "signing.timeZone=Mars/Olympus_Mons"]) == 1
    assert "signing.timeZone 'Mars/Olympus_Mons' is not a zone" in capsys.readouterr().out
    assert check.site_checks({"signing": {"timeZone": "America/New_York"}}) == []
    assert check.site_checks({"signing": {"timeZone": None}}) == []
    assert check.site_checks({}) == []
