"""Helpers of the transport service tests: the plans and children services' events as those
services publish them.

The transport service never imports the plans or children services' code, and neither do its
tests: the events are built from the cross-service contract (docs: the plans service's
`plan.issued` / `plan.amended`, the children service's AsyncAPI entries), on the subjects the
publishers use (`<type>.<record id>`, each record's stream versions in order).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from nats.js import JetStreamContext

from oneplan_events.envelope import Envelope, dataschema_for

__all__ = ["ForeignStreams", "plan_issued_data", "publish"]

BROOK = {"name": "Brook Green School", "urn": "123456", "type": "state_special"}


def _json(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    return value


def plan_issued_data(child_id: UUID, plan_id: UUID, **changes: Any) -> dict[str, Any]:
    """`oneplan.plans.plan.issued` v1 as the contract defines it (and a field transport does
    not read, which a tolerant reader ignores)."""
    data: dict[str, Any] = {
        "plan_id": plan_id,
        "assessment_id": uuid4(),
        "child_id": child_id,
        "issued_on": date(2026, 9, 1),
        "setting": BROOK,
        "start_date": date(2026, 9, 21),
        "next_review_due_on": date(2027, 9, 1),
        "sections_issued": ["A", "B", "E", "F", "I"],
    }
    return {key: _json(value) for key, value in (data | changes).items()}


class ForeignStreams:
    """Envelopes of the plans and children services, each record's in version order."""

    def __init__(self) -> None:
        self._versions: Counter[str] = Counter()

    def envelope(
        self,
        event_type: str,
        record: str,
        data: dict[str, Any],
        *,
        version: int | None = None,
        data_class: str,
    ) -> Envelope:
        """The next event of `record` (`plan/<id>`, `child/<id>`), or the one at `version`."""
        if version is None:
            self._versions[record] += 1
            version = self._versions[record]
        service = event_type.split(".")[1]
        return Envelope(
            id=str(uuid4()),
            source=f"/oneplan/{service}",
            type=event_type,
            time=datetime.now(UTC),
            data={key: _json(value) for key, value in data.items()},
            subject=record,
            dataschema=dataschema_for(event_type, 1),
            childid=str(data["child_id"]),
            dataclass=data_class,
            streamversion=version,
        )

    def plan_issued(self, child_id: UUID, plan_id: UUID, **changes: Any) -> Envelope:
        data = plan_issued_data(child_id, plan_id, **changes)
        return self.envelope(
            "oneplan.plans.plan.issued", f"plan/{plan_id}", data, data_class="education"
        )

    def plan_amended(self, child_id: UUID, plan_id: UUID, **fields: Any) -> Envelope:
        data: dict[str, Any] = {
            "plan_id": plan_id,
            "child_id": child_id,
            "amended_on": date(2026, 10, 5),
            "setting": None,
            "start_date": None,
            "changed_sections": ["I"],
        }
        return self.envelope(
            "oneplan.plans.plan.amended",
            f"plan/{plan_id}",
            data | fields,
            data_class="education",
        )

    def child_registered(self, child_id: UUID, date_of_birth: date) -> Envelope:
        data = {
            "child_id": child_id,
            "date_of_birth": date_of_birth,
            "compulsory_school_age_ends_on": date(date_of_birth.year + 16, 6, 26),
            "given_name": "Ada",
            "family_name": "Example",
        }
        return self.envelope(
            "oneplan.children.child.registered",
            f"child/{child_id}",
            data,
            data_class="identity",
        )

    def details_changed(
        self, child_id: UUID, date_of_birth: date, *, address_changed: bool
    ) -> Envelope:
        data = {
            "child_id": child_id,
            "date_of_birth": date_of_birth,
            "compulsory_school_age_ends_on": date(date_of_birth.year + 16, 6, 26),
            "changed_fields": ["address"] if address_changed else ["preferred_name"],
            "address_changed": address_changed,
        }
        return self.envelope(
            "oneplan.children.details.changed",
            f"child/{child_id}",
            data,
            data_class="identity",
        )


async def publish(js: JetStreamContext, envelope: Envelope) -> None:
    """Publish on the event's subject, `<type>.<record key>`, as the outbox relay does."""
    headers, body = envelope.to_nats()
    await js.publish(envelope.nats_subject, body, headers=headers)
