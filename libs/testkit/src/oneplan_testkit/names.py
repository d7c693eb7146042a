"""Unique names, so tests sharing one NATS server or one PostgreSQL server never collide."""

import itertools
import os
import uuid

_counter = itertools.count(1)
_run = uuid.uuid4().hex[:6]


def unique_name(prefix: str = "T") -> str:
    """A name unique to this test run and process: `PREFIX_<run>_<pid>_<n>`.

    Only letters, digits and underscores, so it is valid as a JetStream stream or durable
    consumer name and as an unquoted PostgreSQL identifier.
    """
    return f"{prefix}_{_run}_{os.getpid()}_{next(_counter)}"
