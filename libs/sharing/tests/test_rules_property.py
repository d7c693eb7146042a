"""Property: every decision SharingState takes matches a plain reference model.

The reference model below shares no code with SharingState: it keeps a flat list of records
and, for each read, scans all of them. Hypothesis generates random sequences of consents,
withdrawals, expiries, overrides, statutory duties, their endings and reads across children,
agencies, data classes, purposes and times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from hypothesis import given, settings
from hypothesis import strategies as st
from sharing_factories import T0, consent_given, duty_recorded, override_recorded

from oneplan_events.catalogue import DataClass
from oneplan_sharing import DecisionRequest, SharingState
from oneplan_sharing.facts import (
    ConsentExpiry,
    ConsentWithdrawal,
    DutyEnd,
    OverrideEnd,
    Purpose,
)

CHILDREN = (UUID(int=1), UUID(int=2))
AGENCIES = ("send", "health", "school", "social_care")
CLASSES = (DataClass.STORY, DataClass.HEALTH, DataClass.EDUCATION)
PURPOSES = (Purpose.HEALTH_CARE, Purpose.REVIEW)


def subset(items: tuple[Any, ...]) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(st.sampled_from(items), min_size=1, max_size=len(items), unique=True).map(tuple)


BASIS_NAMES = {"consent": "consent", "override": "override", "duty": "statutory_duty"}
hours = st.integers(min_value=0, max_value=48)


@dataclass
class Record:
    """One grant as the reference model sees it: plain sets and an integer hour range."""

    kind: str  # "consent" | "override" | "duty"
    ref: UUID
    child: UUID
    owners: frozenset[str] | None  # None: any owner (overrides)
    recipients: frozenset[str]
    classes: frozenset[DataClass]
    purposes: frozenset[Purpose] | None  # None: any purpose (overrides)
    start: int
    end: int | None
    ended: bool = False


@dataclass
class Reference:
    records: list[Record] = field(default_factory=list)

    def decide(
        self, child: UUID, owner: str, recipient: str, dc: DataClass, purpose: Purpose, hour: int
    ) -> tuple[bool, str | None, set[UUID]]:
        if owner == recipient:
            return True, "own_data", set()
        for kind in ("consent", "override", "duty"):
            refs = {
                r.ref
                for r in self.records
                if r.kind == kind
                and not r.ended
                and r.child == child
                and (r.owners is None or owner in r.owners)
                and recipient in r.recipients
                and dc in r.classes
                and (r.purposes is None or purpose in r.purposes)
                and r.start <= hour
                and (r.end is None or hour < r.end)
            }
            if refs:
                return True, BASIS_NAMES[kind], refs
        return False, None, set()


def at(hour: int) -> Any:
    return T0 + timedelta(hours=hour)


grant_op = st.tuples(
    st.sampled_from(("consent", "override", "duty")),
    st.sampled_from(CHILDREN),
    subset(AGENCIES),
    subset(AGENCIES),
    subset(CLASSES),
    subset(PURPOSES),
    hours,
    st.integers(min_value=1, max_value=48),
    st.booleans(),
)
end_op = st.tuples(st.just("end"), st.integers(min_value=0, max_value=30), st.booleans())
read_op = st.tuples(
    st.just("read"),
    st.sampled_from(CHILDREN),
    st.sampled_from(AGENCIES),
    st.sampled_from(AGENCIES),
    st.sampled_from(CLASSES),
    st.sampled_from(PURPOSES),
    st.integers(min_value=0, max_value=100),
)
operations = st.lists(st.one_of(grant_op, end_op, read_op), min_size=1, max_size=60)


def grant(state: SharingState, ref: Reference, op: tuple[Any, ...]) -> None:
    kind, child, owners, recipients, classes, purposes, start, length, open_ended = op
    record_id = uuid4()
    end = None if kind == "duty" and open_ended else start + length
    if kind == "consent":
        state.apply(
            consent_given(
                child,
                owners=owners,
                recipients=recipients,
                data_classes=classes,
                purposes=purposes,
                valid_from=at(start),
                valid_until=at(start + length),
                consent_id=record_id,
            )
        )
    elif kind == "override":
        state.apply(
            override_recorded(
                child,
                recipients=recipients,
                data_classes=classes,
                starts_at=at(start),
                ends_at=at(start + length),
                override_id=record_id,
            )
        )
    else:
        state.apply(
            duty_recorded(
                child,
                owners=owners,
                recipients=recipients,
                data_classes=classes,
                purposes=purposes,
                valid_from=at(start),
                valid_until=None if end is None else at(end),
                duty_id=record_id,
            )
        )
    ref.records.append(
        Record(
            kind=kind,
            ref=record_id,
            child=child,
            owners=None if kind == "override" else frozenset(owners),
            recipients=frozenset(recipients),
            classes=frozenset(classes),
            purposes=None if kind == "override" else frozenset(purposes),
            start=start,
            end=end,
        )
    )


def end(state: SharingState, ref: Reference, index: int, withdraw: bool) -> None:
    if not ref.records:
        return
    record = ref.records[index % len(ref.records)]
    record.ended = True
    if record.kind == "consent":
        state.apply(
            ConsentWithdrawal(
                consent_id=record.ref, child_id=record.child, withdrawn_at=T0, withdrawn_by="p"
            )
            if withdraw
            else ConsentExpiry(consent_id=record.ref, child_id=record.child, expired_at=T0)
        )
    elif record.kind == "override":
        state.apply(
            OverrideEnd(
                override_id=record.ref,
                child_id=record.child,
                ended_by="l",
                ended_at=T0,
                reason="closed",
            )
        )
    else:
        state.apply(
            DutyEnd(
                duty_id=record.ref,
                child_id=record.child,
                ended_by="l",
                ended_at=T0,
                reason="closed",
            )
        )


@settings(max_examples=300, deadline=None)
@given(operations)
def test_every_decision_matches_the_reference_model(ops: list[tuple[Any, ...]]) -> None:
    state, ref = SharingState(), Reference()
    for op in ops:
        if op[0] == "end":
            end(state, ref, op[1], op[2])
        elif op[0] == "read":
            _, child, owner, recipient, dc, purpose, hour = op
            decision = state.decide(DecisionRequest(child, owner, recipient, dc, purpose, at(hour)))
            permit, basis, refs = ref.decide(child, owner, recipient, dc, purpose, hour)
            assert decision.permit is permit, (decision, basis)
            assert decision.basis == basis
            if permit and basis != "own_data":
                assert decision.reference in refs
            if not permit:
                assert decision.reason
        else:
            grant(state, ref, op)
