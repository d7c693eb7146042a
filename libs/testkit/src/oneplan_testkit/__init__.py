"""OnePlan test infrastructure: real NATS and PostgreSQL servers for a test run.

The pytest plugin (`oneplan_testkit.plugin`, loaded by the root `pyproject.toml`) finds its
servers in this order: the ones named by `NATS_URL` / `DATABASE_URL`; testcontainers when a
Docker engine answers; otherwise processes it starts itself (a `nats-server` binary on a free
port, a throwaway PostgreSQL cluster). When none can be had the run fails and says why: a test
that needs a server never skips silently.
"""

from oneplan_testkit.names import unique_name
from oneplan_testkit.nats import NatsProcess, find_nats_server
from oneplan_testkit.postgres import PostgresCluster, find_postgres_bin_dir

__all__ = [
    "NatsProcess",
    "PostgresCluster",
    "find_nats_server",
    "find_postgres_bin_dir",
    "unique_name",
]
