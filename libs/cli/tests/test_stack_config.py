"""StackConfig: defaults, environment overrides, URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from v2v_cli.stack import StackConfig, StackError, env_var


def test_defaults_are_resolved_against_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = StackConfig.from_env({})
    assert config.data_dir == tmp_path.resolve() / ".v2v"
    assert (config.kafka_port, config.kafka_controller_port) == (9092, 9093)
    assert (config.temporal_port, config.temporal_ui_port, config.postgres_port) == (
        7233,
        8233,
        15432,
    )
    assert config.kafka_version == "4.1.1"
    assert (config.keycloak_port, config.keycloak_version) == (18080, "26.7.3")
    assert config.keycloak_java_home == ""
    assert config.cache_dir == Path.home().resolve() / ".cache" / "vein2vein"
    assert config.temporal_namespace == "default"


def test_environment_overrides(tmp_path: Path) -> None:
    config = StackConfig.from_env(
        {
            "V2V_STACK_DATA_DIR": str(tmp_path / "d"),
            "V2V_STACK_KAFKA_PORT": "19092",
            "V2V_STACK_TEMPORAL_UI_PORT": "18233",
            "V2V_STACK_CACHE_DIR": str(tmp_path / "cache"),
            "V2V_STACK_KAFKA_VERSION": "4.1.0",
            "V2V_STACK_POSTGRES_PORT": "",  # empty means "not set"
        }
    )
    assert config.data_dir == tmp_path / "d"
    assert config.kafka_port == 19092
    assert config.temporal_ui_port == 18233
    assert config.cache_dir == tmp_path / "cache"
    assert config.kafka_home == tmp_path / "cache" / "kafka-4.1.0"
    assert config.postgres_port == 15432


@pytest.mark.parametrize("raw", ["abc", "0", "70000"])
def test_bad_port_is_a_clear_error(raw: str) -> None:
    with pytest.raises(StackError, match="V2V_STACK_TEMPORAL_PORT"):
        StackConfig.from_env({"V2V_STACK_TEMPORAL_PORT": raw})


def test_endpoints_and_urls(tmp_path: Path) -> None:
    config = StackConfig(data_dir=tmp_path, kafka_port=1, temporal_port=2, postgres_port=3)
    assert config.kafka_bootstrap == "127.0.0.1:1"
    assert config.temporal_address == "127.0.0.1:2"
    assert config.temporal_ui_url == "http://127.0.0.1:8233"
    assert config.oidc_issuer == "http://127.0.0.1:18080/realms/vein2vein"
    assert config.keycloak_dist == config.cache_dir / "keycloak-26.7.3"
    assert config.postgres_url("qc") == "postgresql+asyncpg://v2v@127.0.0.1:3/qc"
    assert config.sqlite_url("qc") == f"sqlite+aiosqlite:///{tmp_path}/db/qc.sqlite"
    assert config.sqlite_url("qc").startswith("sqlite+aiosqlite:////")  # absolute path


def test_json_round_trip(tmp_path: Path) -> None:
    config = StackConfig(data_dir=tmp_path, kafka_port=1234)
    assert StackConfig.from_json(config.to_json()) == config


def test_env_var_names() -> None:
    assert env_var("kafka_port") == "V2V_STACK_KAFKA_PORT"
