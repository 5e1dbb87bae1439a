"""Register the journey's custom search attributes in a Temporal namespace (idempotent).

python -m v2v_journey.provision [--address HOST:PORT] [--namespace NS]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client

# Custom search attributes the journey workflows set (name -> Temporal type).
SEARCH_ATTRIBUTES: dict[str, str] = {
    "CoI": "Keyword",
    "JourneyStage": "Keyword",
    "Therapy": "Keyword",
    "Site": "Keyword",
    "JourneyStatus": "Keyword",
}


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Register any missing SEARCH_ATTRIBUTES; return the names that had to be added."""
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    missing = {
        name: IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{kind.upper()}")
        for name, kind in SEARCH_ATTRIBUTES.items()
        if name not in listed.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    return sorted(missing)


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m v2v_journey.provision", description=__doc__)
    p.add_argument("--address", default=os.environ.get("V2V_TEMPORAL_ADDRESS", "127.0.0.1:7233"))
    p.add_argument("--namespace", default=os.environ.get("V2V_TEMPORAL_NAMESPACE", "default"))
    args = p.parse_args(argv)

    async def run() -> list[str]:
        from .settings import JourneySettings
        from .worker import connect

        # The same connection settings (TLS, mTLS, API key) as the worker.
        settings = JourneySettings(temporal_address=args.address, temporal_namespace=args.namespace)
        client = await connect(settings)
        return await ensure_search_attributes(client, args.namespace)

    added = asyncio.run(run())
    print(f"search attributes present in {args.namespace}; added: {', '.join(added) or 'none'}")
    # The Temporal SDK's native threads can crash interpreter shutdown of a short-lived
    # process (temporalio/sdk-python#300); the work is done, so leave without it.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
