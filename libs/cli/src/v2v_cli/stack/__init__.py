"""The native local stack: Kafka (KRaft), Temporal's dev server, Keycloak and, opt-in,
PostgreSQL, run as plain processes (no Docker) with state under a data dir."""

from v2v_cli.stack.component import Component, Progress
from v2v_cli.stack.config import SERVICE_DATABASES, TEST_DATABASE, StackConfig, env_var
from v2v_cli.stack.errors import PortInUseError, StackError
from v2v_cli.stack.kafka import KafkaBroker, ensure_topics
from v2v_cli.stack.keycloak import KeycloakServer
from v2v_cli.stack.launcher import ComponentStatus, Stack, State
from v2v_cli.stack.postgres import PostgresCluster
from v2v_cli.stack.temporal import TemporalDevServer
from v2v_journey.provision import SEARCH_ATTRIBUTES, ensure_search_attributes

__all__ = [
    "SEARCH_ATTRIBUTES",
    "SERVICE_DATABASES",
    "TEST_DATABASE",
    "Component",
    "ComponentStatus",
    "KafkaBroker",
    "KeycloakServer",
    "PortInUseError",
    "PostgresCluster",
    "Progress",
    "Stack",
    "StackConfig",
    "StackError",
    "State",
    "TemporalDevServer",
    "ensure_search_attributes",
    "ensure_topics",
    "env_var",
]
