"""A single-node Apache Kafka (KRaft broker+controller) run from jars on Maven Central."""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from v2v_cli.stack.component import Component, PortSetting, Progress
from v2v_cli.stack.config import StackConfig
from v2v_cli.stack.errors import StackError
from v2v_cli.stack.ports import listening
from v2v_cli.stack.process import file_lock, spawn_detached
from v2v_events.catalog import TopicSpec
from v2v_runtime import provision

MIN_JAVA = 17
LOG4J_VERSION = "2.24.3"
JACKSON_YAML_VERSION = "2.19.2"
_READY_MARKER = ".complete"


# Java and the jars ---------------------------------------------------------------------------
def java_major_version(java: str = "java") -> int:
    """Major version of ``java`` (``java -version`` prints e.g. 'openjdk version "17.0.15"')."""
    if shutil.which(java) is None:
        raise StackError(
            f"Java {MIN_JAVA}+ is needed to run Kafka but `{java}` is not on PATH "
            "(Debian: apt-get install openjdk-17-jre-headless)."
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    return parse_java_version(out.stderr + out.stdout)


def parse_java_version(text: str) -> int:
    match = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if match is None:
        raise StackError(f"could not read the Java version from: {text.strip()[:200]!r}")
    major = int(match.group(1))
    # Java 8 and older report "1.8.0_x".
    return int(match.group(2) or 0) if major == 1 else major


def render_pom(kafka_version: str) -> str:
    deps = [
        ("org.apache.kafka", "kafka_2.13", kafka_version),
        # Kafka 4 logs through log4j2, which is not in its runtime scope. Kafka 4.1 is built
        # on SLF4J 1.7, so the binding is log4j-slf4j-impl (log4j-slf4j2-impl would be
        # ignored and the broker would log nothing).
        ("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J_VERSION),
        ("org.apache.logging.log4j", "log4j-core", LOG4J_VERSION),
        ("com.fasterxml.jackson.dataformat", "jackson-dataformat-yaml", JACKSON_YAML_VERSION),
    ]
    body = "\n".join(
        f"    <dependency><groupId>{g}</groupId><artifactId>{a}</artifactId>"
        f"<version>{v}</version></dependency>"
        for g, a, v in deps
    )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        "  <groupId>local.vein2vein</groupId><artifactId>kafka-runtime</artifactId>"
        "<version>1</version>\n"
        "  <packaging>pom</packaging>\n"
        f"  <dependencies>\n{body}\n  </dependencies>\n"
        "</project>\n"
    )


def _jars_ready(home: Path, pom: str) -> bool:
    try:
        return (home / _READY_MARKER).read_text() == _digest(pom)
    except OSError:
        return False


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest() + "\n"


def ensure_jars(config: StackConfig, progress: Progress) -> Path:
    """The broker's classpath dir, fetched with Maven on first use and then reused (refetched
    when the dependency list changes: the marker records the pom's digest)."""
    home = config.kafka_home
    libs = home / "libs"
    pom = render_pom(config.kafka_version)
    if _jars_ready(home, pom):
        return libs
    with file_lock(home.parent / f".kafka-{config.kafka_version}.lock"):
        if _jars_ready(home, pom):
            return libs
        if shutil.which("mvn") is None:
            raise StackError(
                "Maven (`mvn`) is needed once to fetch the Kafka jars from Maven Central "
                "(Debian: apt-get install maven)."
            )
        progress(f"Fetching Kafka {config.kafka_version} jars (first run only)…")
        home.mkdir(parents=True, exist_ok=True)
        (home / "pom.xml").write_text(pom)
        staging = home / "libs.partial"
        shutil.rmtree(staging, ignore_errors=True)
        result = subprocess.run(
            [
                "mvn", "-q", "-B", "-f", str(home / "pom.xml"),
                "dependency:copy-dependencies", "-DincludeScope=runtime",
                f"-DoutputDirectory={staging}",
            ],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
            output = (result.stdout + result.stderr).strip()[-2000:]
            raise StackError(f"fetching the Kafka jars with Maven failed:\n{output}")
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
        # Written last: a fetch interrupted before this line is redone next time.
        (home / _READY_MARKER).write_text(_digest(pom))
    return libs


# Configuration ---------------------------------------------------------------------------------
def render_server_properties(config: StackConfig, log_dir: Path) -> str:
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": config.kafka_controller,
        "listeners": f"PLAINTEXT://{config.kafka_bootstrap},CONTROLLER://{config.kafka_controller}",
        "advertised.listeners": f"PLAINTEXT://{config.kafka_bootstrap}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(log_dir),
        # Topics come from the catalog only, so a typo in a topic name fails loudly.
        "auto.create.topics.enable": "false",
        "num.partitions": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # Consumers in tests join at once instead of waiting 3 s for more members.
        "group.initial.rebalance.delay.ms": "0",
    }
    return "".join(f"{key}={value}\n" for key, value in props.items())


def render_log4j2(log_dir: Path) -> str:
    """log4j2 properties config: broker logs to a size-capped rolling file."""
    return f"""\
status = warn
name = v2v-kafka
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = {log_dir}/server.log
appender.file.filePattern = {log_dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.controller.name = org.apache.kafka.controller
logger.controller.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
"""


# Topics -------------------------------------------------------------------------------------------
async def ensure_topics(
    bootstrap: str,
    specs: Sequence[TopicSpec] | None = None,
    *,
    replication_factor: int = 1,
    time_limit: float = 30.0,
) -> list[str]:
    """Create every catalog topic that is missing; return all catalog topic names."""
    try:
        return await provision.ensure_topics(
            bootstrap, specs, replication_factor=replication_factor, time_limit=time_limit
        )
    except provision.ProvisionError as exc:
        raise StackError(str(exc)) from None


async def kafka_answers(bootstrap: str, time_limit: float = 5.0) -> bool:
    host, _, port = bootstrap.rpartition(":")
    # Only once the broker listens: keeps aiokafka from logging errors while the JVM boots,
    # and never connects to the port before that (see ports.py: no self-connections).
    if not listening(int(port), host):
        return False
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(time_limit * 1000)
    )
    try:
        async with asyncio.timeout(time_limit):
            await admin.start()
            await admin.list_topics()
        return True
    except Exception:  # any failure here just means "not ready yet"
        return False
    finally:
        await admin.close()


# The component ---------------------------------------------------------------------------------
class KafkaBroker(Component):
    name = "kafka"
    title = "Kafka"
    ready_timeout = 60.0

    def __init__(self, config: StackConfig) -> None:
        super().__init__(config)
        self.home = config.data_dir / "kafka"
        self.server_properties = self.home / "server.properties"
        self.log4j_config = self.home / "log4j2.properties"
        self.storage_dir = self.home / "data"
        self.broker_logs = self.home / "logs"
        self.libs: Path = config.kafka_home / "libs"

    def log_files(self) -> list[Path]:
        # stdout holds JVM-level failures; log4j2 writes the broker's own log.
        return [self.log_file, self.broker_logs / "server.log"]

    @property
    def endpoint(self) -> str:
        return self.config.kafka_bootstrap

    def ports(self) -> list[PortSetting]:
        return [
            PortSetting(self.config.kafka_port, "kafka_port"),
            PortSetting(self.config.kafka_controller_port, "kafka_controller_port"),
        ]

    def marker(self) -> str:
        return str(self.server_properties)

    @property
    def classpath(self) -> str:
        return f"{self.libs}/*"

    def prepare(self, progress: Progress) -> None:
        major = java_major_version()
        if major < MIN_JAVA:
            raise StackError(f"Kafka needs Java {MIN_JAVA}+, but `java` is version {major}.")
        self.libs = ensure_jars(self.config, progress)
        self.broker_logs.mkdir(parents=True, exist_ok=True)
        self.server_properties.write_text(render_server_properties(self.config, self.storage_dir))
        self.log4j_config.write_text(render_log4j2(self.broker_logs))
        if not (self.storage_dir / "meta.properties").exists():
            progress("Formatting Kafka storage (first run only)…")
            self._format_storage()

    def _storage_tool(self, *args: str) -> str:
        result = subprocess.run(
            ["java", *self._jvm_flags(), "-cp", self.classpath, "kafka.tools.StorageTool", *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(
                f"kafka-storage {args[0]} failed:\n{(result.stdout + result.stderr).strip()}"
            )
        return result.stdout.strip()

    def _format_storage(self) -> None:
        cluster_id = self._storage_tool("random-uuid").splitlines()[-1].strip()
        self._storage_tool(
            "format", "--standalone", "-t", cluster_id, "-c", str(self.server_properties)
        )

    def _jvm_flags(self) -> list[str]:
        return [f"-Dlog4j2.configurationFile={self.log4j_config}", "-Djava.awt.headless=true"]

    def start(self) -> int:
        return spawn_detached(
            [
                "java", "-Xms256m", "-Xmx512m", "-XX:+UseG1GC",
                *self._jvm_flags(),
                f"-Dkafka.logs.dir={self.broker_logs}",
                "-cp", self.classpath,
                "kafka.Kafka", str(self.server_properties),
            ],
            self.log_file,
            cwd=self.home,
        )  # fmt: skip

    async def probe(self) -> bool:
        return await kafka_answers(self.config.kafka_bootstrap)

    async def after_ready(self, progress: Progress) -> str:
        topics = await ensure_topics(self.config.kafka_bootstrap)
        return f"{len(topics)} topics"
