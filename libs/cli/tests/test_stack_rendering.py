"""Files and arguments the launcher generates."""

from __future__ import annotations

from pathlib import Path

import pytest

from v2v_cli.stack import SEARCH_ATTRIBUTES, StackConfig, StackError
from v2v_cli.stack.kafka import (
    parse_java_version,
    render_log4j2,
    render_pom,
    render_server_properties,
)
from v2v_cli.stack.temporal import start_dev_args


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_server_properties_single_kraft_node(tmp_path: Path) -> None:
    config = StackConfig(data_dir=tmp_path, kafka_port=19092, kafka_controller_port=19093)
    props = _props(render_server_properties(config, tmp_path / "kafka" / "data"))
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["log.dirs"] == str(tmp_path / "kafka" / "data")
    assert props["auto.create.topics.enable"] == "false"
    assert props["num.partitions"] == "1"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"


def test_log4j2_config_logs_to_the_given_dir(tmp_path: Path) -> None:
    text = render_log4j2(tmp_path / "logs")
    assert f"appender.file.fileName = {tmp_path / 'logs'}/server.log" in text
    assert "rootLogger.appenderRef.file.ref = file" in text


def test_pom_lists_broker_and_logging() -> None:
    pom = render_pom("4.1.1")
    assert "<artifactId>kafka_2.13</artifactId><version>4.1.1</version>" in pom
    # Kafka 4.1 is on SLF4J 1.7: the SLF4J-1 binding is what makes the broker log at all.
    assert "<artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version>" in pom
    assert "<artifactId>log4j-core</artifactId>" in pom
    assert "<artifactId>jackson-dataformat-yaml</artifactId><version>2.19.2</version>" in pom


@pytest.mark.parametrize(
    ("text", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('java version "1.8.0_292"', 8),
        ('openjdk version "21" 2023-09-19', 21),
    ],
)
def test_java_version_parsing(text: str, major: int) -> None:
    assert parse_java_version(text) == major


def test_unreadable_java_version() -> None:
    with pytest.raises(StackError, match="Java version"):
        parse_java_version("command not found")


def test_temporal_dev_server_arguments(tmp_path: Path) -> None:
    config = StackConfig(data_dir=tmp_path, temporal_port=17233, temporal_ui_port=18233)
    args = start_dev_args(Path("/bin/temporal"), config, tmp_path / "t.db")
    assert args[:3] == ["/bin/temporal", "server", "start-dev"]
    joined = " ".join(args)
    assert f"--db-filename {tmp_path / 't.db'}" in joined
    assert "--ip 127.0.0.1 --port 17233 --ui-port 18233" in joined
    for name in ("CoI", "JourneyStage", "Therapy", "Site", "JourneyStatus"):
        assert f"--search-attribute {name}=Keyword" in joined
    assert set(SEARCH_ATTRIBUTES) == {"CoI", "JourneyStage", "Therapy", "Site", "JourneyStatus"}
