"""Create the catalog's Kafka topics (idempotent). Used by `v2v up`, the tests, the Compose
file and the Helm chart's provisioning Job:

    python -m v2v_runtime.provision [--bootstrap HOST:PORT] [--replication-factor N]
                                    [--min-insync-replicas N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Sequence
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from v2v_events.catalog import TopicSpec, all_topics


class ProvisionError(RuntimeError):
    pass


async def ensure_topics(
    bootstrap: str,
    specs: Sequence[TopicSpec] | None = None,
    *,
    replication_factor: int = 1,
    min_insync_replicas: int | None = None,
    time_limit: float = 30.0,
    options: dict[str, Any] | None = None,
) -> list[str]:
    """Create every catalog topic that is missing; return all catalog topic names."""
    wanted = list(all_topics() if specs is None else specs)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=15000, **(options or {})
    )
    try:
        async with asyncio.timeout(time_limit):
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [s for s in wanted if s.name not in existing]
            if missing:
                extra = (
                    {}
                    if min_insync_replicas is None
                    else {"min.insync.replicas": str(min_insync_replicas)}
                )
                response = await admin.create_topics(
                    [
                        NewTopic(
                            s.name,
                            num_partitions=s.partitions,
                            replication_factor=replication_factor,
                            topic_configs={**s.config, **extra},
                        )
                        for s in missing
                    ]
                )
                for topic, code, *rest in response.topic_errors:
                    # Another provisioner may have created it meanwhile: that is fine.
                    if code and not issubclass(for_code(code), TopicAlreadyExistsError):
                        message = rest[0] if rest else ""
                        raise ProvisionError(
                            f"creating topic {topic} failed: {for_code(code).__name__} {message}"
                        )
    except TimeoutError:
        raise ProvisionError(
            f"Kafka at {bootstrap} did not answer within {time_limit:.0f} s"
        ) from None
    finally:
        await admin.close()
    return [s.name for s in wanted]


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m v2v_runtime.provision", description=__doc__)
    p.add_argument(
        "--bootstrap", default=os.environ.get("V2V_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    p.add_argument(
        "--replication-factor",
        type=int,
        default=int(os.environ.get("V2V_TOPIC_REPLICATION_FACTOR", "1")),
    )
    p.add_argument("--min-insync-replicas", type=int, default=None)
    p.add_argument("--time-limit", type=float, default=120.0)
    args = p.parse_args(argv)
    names = asyncio.run(
        ensure_topics(
            args.bootstrap,
            replication_factor=args.replication_factor,
            min_insync_replicas=args.min_insync_replicas,
            time_limit=args.time_limit,
        )
    )
    print(f"{len(names)} catalog topics present on {args.bootstrap}", flush=True)


if __name__ == "__main__":
    main()
