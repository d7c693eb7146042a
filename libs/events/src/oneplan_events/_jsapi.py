"""The JetStream API calls the consumers need that nats-py does not offer, over its public API.

nats-py 2.16 has no priority groups (NATS ADR-42: ``priority_groups``, ``pinned_client``, the
pull request's ``group`` and ``id``, the ``Nats-Pin-Id`` header, the 423 status), and neither
does the new ``nats-jetstream`` 0.3 client (it sends ``group`` but never the pin id). Pinned
pull consumers are how several instances of a service share a partition without ever applying
two of its messages at once, so OnePlan speaks these few JSON requests itself, with
``Client.request`` and ``Client.publish`` only: no private attribute of nats-py is used, and
the wire format is NATS' documented JetStream API. Replace this module when nats-py supports
priority groups.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from nats.aio.client import Client

__all__ = [
    "API_PREFIX",
    "PIN_HEADER",
    "PRIORITY_GROUP",
    "JetStreamApiError",
    "PinnedConsumerConfig",
    "create_or_update_consumer",
    "send_pull",
    "stream_names",
    "unpin",
]

API_PREFIX: Final = "$JS.API"
PRIORITY_GROUP: Final = "oneplan"
PIN_HEADER: Final = "Nats-Pin-Id"
_NANOS: Final = 1_000_000_000


class JetStreamApiError(RuntimeError):
    """The JetStream API refused a request; ``code`` is its error code."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"JetStream API error {code}: {description}")
        self.code = code
        self.description = description


@dataclass(frozen=True, slots=True)
class PinnedConsumerConfig:
    """A durable pull consumer whose messages go to one pinned client at a time."""

    name: str
    filter_subject: str
    ack_wait: float
    max_ack_pending: int
    pin_ttl: float

    def as_request(self, stream: str) -> dict[str, Any]:
        """The body of a consumer create request."""
        return {
            "stream_name": stream,
            "config": {
                "name": self.name,
                "durable_name": self.name,
                "ack_policy": "explicit",
                "deliver_policy": "all",
                "replay_policy": "instant",
                "ack_wait": int(self.ack_wait * _NANOS),
                # JetStream's own limit would drop a message silently: the consumer parks it.
                "max_deliver": -1,
                "filter_subject": self.filter_subject,
                "max_ack_pending": self.max_ack_pending,
                "priority_groups": [PRIORITY_GROUP],
                "priority_policy": "pinned_client",
                "priority_timeout": int(self.pin_ttl * _NANOS),
            },
        }


async def create_or_update_consumer(
    nc: Client, stream: str, config: PinnedConsumerConfig, wait: float = 5.0
) -> dict[str, Any]:
    """Create the durable, or update it to ``config``; the server's consumer info.

    The filter is part of the API subject, so the deployment's NATS permissions can restrict
    which subjects a service may consume (deploy/nats/accounts.conf).
    """
    subject = f"{API_PREFIX}.CONSUMER.CREATE.{stream}.{config.name}.{config.filter_subject}"
    reply = await nc.request(subject, json.dumps(config.as_request(stream)).encode(), wait)
    return _answer(reply.data)


def _answer(data: bytes) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(data)
    error = answer.get("error")
    if error:
        code = int(error.get("err_code") or error.get("code") or 0)
        raise JetStreamApiError(code, str(error.get("description", "")))
    return answer


async def unpin(nc: Client, stream: str, consumer: str, wait: float = 2.0) -> None:
    """Give up this group's pin at once (a clean stop), so a standby instance takes over
    without waiting for the pin to time out."""
    subject = f"{API_PREFIX}.CONSUMER.UNPIN.{stream}.{consumer}"
    reply = await nc.request(subject, json.dumps({"group": PRIORITY_GROUP}).encode(), wait)
    _answer(reply.data)


async def stream_names(nc: Client, subject: str, wait: float = 5.0) -> list[str]:
    """The names of every stream holding subjects that overlap ``subject``.

    ``STREAM.NAMES`` with a subject filter, rather than listing every stream's full
    information: the deployment grants it to every service user, and it pages.
    """
    names: list[str] = []
    while True:
        request = {"subject": subject, "offset": len(names)}
        reply = await nc.request(f"{API_PREFIX}.STREAM.NAMES", json.dumps(request).encode(), wait)
        answer = _answer(reply.data)
        page = answer.get("streams") or []
        names.extend(page)
        if not page or len(names) >= int(answer.get("total", 0)):
            return names


async def send_pull(
    nc: Client,
    stream: str,
    consumer: str,
    reply_to: str,
    *,
    batch: int,
    expires: float,
    heartbeat: float,
    pin_id: str | None,
) -> None:
    """Ask for up to ``batch`` messages, delivered to ``reply_to``, as a member of the
    priority group; with ``pin_id`` once this client is the pinned one."""
    request: dict[str, Any] = {
        "batch": batch,
        "expires": int(expires * _NANOS),
        "idle_heartbeat": int(heartbeat * _NANOS),
        "group": PRIORITY_GROUP,
    }
    if pin_id is not None:
        request["id"] = pin_id
    subject = f"{API_PREFIX}.CONSUMER.MSG.NEXT.{stream}.{consumer}"
    await nc.publish(subject, json.dumps(request).encode(), reply=reply_to)
