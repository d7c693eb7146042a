"""Who may consent: boundaries around compulsory school age, Gillick competence and the MCA."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from oneplan_consent.domain.who_may_consent import (
    ChildFacts,
    ConsentRequest,
    FamilyMember,
    check_consent_request,
)
from oneplan_consent.events import CaptureMethod, ConsentCapacity, ConsentGiver
from oneplan_events.vocabulary import KNOWN_AGENCIES, DataClass, Purpose

CSA_END = date(2026, 6, 26)  # the last Friday in June of the school year the child turns 16
CHILD = uuid4()
PARENT = uuid4()
GRANDPARENT = uuid4()
FACTS = ChildFacts(
    child_id=CHILD,
    date_of_birth=date(2010, 3, 1),
    compulsory_school_age_ends_on=CSA_END,
    members={
        PARENT: FamilyMember(PARENT, "mother", parental_responsibility=True),
        GRANDPARENT: FamilyMember(GRANDPARENT, "grandparent", parental_responsibility=False),
    },
)
START = datetime(2026, 1, 1, tzinfo=UTC)


def request(
    capacity: ConsentCapacity,
    person: UUID | None,
    *,
    mca: str | None = None,
    gillick: str | None = None,
    until: datetime = START + timedelta(days=90),
    **changes: object,
) -> ConsentRequest:
    fields: dict[str, object] = {
        "given_by": ConsentGiver(
            person_id=person,
            name="Someone Example",
            capacity=capacity,
            mca_assessment_reference=mca,
            gillick_assessment_reference=gillick,
        ),
        "owner_agencies": ("send",),
        "recipient_agencies": ("health",),
        "data_classes": (DataClass.STORY,),
        "purposes": (Purpose.HEALTH_CARE,),
        "valid_from": START,
        "valid_until": until,
        "capture_method": CaptureMethod.SIGNED_FORM,
    }
    fields.update(changes)
    return ConsentRequest(**fields)  # type: ignore[arg-type]


def fields(req: ConsentRequest, today: date) -> list[str]:
    return [issue.field for issue in check_consent_request(req, FACTS, KNOWN_AGENCIES, today)]


LAST_DAY = CSA_END
FIRST_DAY_AFTER = CSA_END + timedelta(days=1)


@pytest.mark.parametrize(
    ("today", "expected"),
    [(LAST_DAY, []), (FIRST_DAY_AFTER, ["given_by.capacity"])],
)
def test_parent_with_pr_consents_until_compulsory_school_age_ends(
    today: date, expected: list[str]
) -> None:
    assert fields(request(ConsentCapacity.PARENT_WITH_PR, PARENT), today) == expected


def test_a_person_without_parental_responsibility_cannot_consent() -> None:
    for person in (GRANDPARENT, uuid4(), None):
        assert fields(request(ConsentCapacity.PARENT_WITH_PR, person), LAST_DAY) == [
            "given_by.person_id"
        ]


def test_a_parents_consent_cannot_outlast_compulsory_school_age() -> None:
    late = datetime(2026, 6, 27, tzinfo=UTC)
    req = request(ConsentCapacity.PARENT_WITH_PR, PARENT, until=late)
    assert fields(req, date(2026, 1, 1)) == ["valid_until"]


@pytest.mark.parametrize(
    ("until", "expected"),
    [
        # 23:00 BST on 26 June, the last day of compulsory school age in England.
        (datetime(2026, 6, 26, 22, 0, tzinfo=UTC), []),
        # 00:30 BST on 27 June: already the young person's own decision in England.
        (datetime(2026, 6, 26, 23, 30, tzinfo=UTC), ["valid_until"]),
    ],
)
def test_the_end_of_compulsory_school_age_is_a_date_in_england(
    until: datetime, expected: list[str]
) -> None:
    req = request(ConsentCapacity.PARENT_WITH_PR, PARENT, until=until)
    assert fields(req, date(2026, 1, 1)) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [(LAST_DAY, ["given_by.capacity"]), (FIRST_DAY_AFTER, [])],
)
def test_young_person_consents_once_over_compulsory_school_age(
    today: date, expected: list[str]
) -> None:
    assert fields(request(ConsentCapacity.YOUNG_PERSON, CHILD), today) == expected


def test_young_persons_consent_is_their_own() -> None:
    assert fields(request(ConsentCapacity.YOUNG_PERSON, PARENT), FIRST_DAY_AFTER) == [
        "given_by.person_id"
    ]


def test_parent_for_young_person_needs_a_recorded_lack_of_capacity() -> None:
    capacity = ConsentCapacity.PARENT_FOR_YOUNG_PERSON_LACKING_CAPACITY
    assert fields(request(capacity, PARENT), FIRST_DAY_AFTER) == [
        "given_by.mca_assessment_reference"
    ]
    assert fields(request(capacity, PARENT, mca="MCA-2026-014"), FIRST_DAY_AFTER) == []
    assert fields(request(capacity, PARENT, mca="MCA-2026-014"), LAST_DAY) == ["given_by.capacity"]
    assert fields(request(capacity, GRANDPARENT, mca="MCA-2026-014"), FIRST_DAY_AFTER) == [
        "given_by.person_id"
    ]


def test_younger_child_consents_only_with_a_gillick_assessment() -> None:
    capacity = ConsentCapacity.GILLICK_COMPETENT_CHILD
    assert fields(request(capacity, CHILD), LAST_DAY) == ["given_by.gillick_assessment_reference"]
    assert fields(request(capacity, CHILD, gillick="GA-77"), LAST_DAY) == []
    assert fields(request(capacity, CHILD, gillick="GA-77"), FIRST_DAY_AFTER) == [
        "given_by.capacity"
    ]


def test_scope_period_and_capture_are_checked_together() -> None:
    req = request(
        ConsentCapacity.PARENT_WITH_PR,
        PARENT,
        until=START,
        owner_agencies=("send", "unknown_agency"),
        data_classes=(DataClass.CONSENT,),
        capture_method=CaptureMethod.VERBAL_WITH_WITNESS,
    )
    assert fields(req, LAST_DAY) == [
        "owner_agencies",
        "data_classes",
        "valid_until",
        "witness_name",
    ]


def test_own_agency_needs_no_consent() -> None:
    req = request(ConsentCapacity.PARENT_WITH_PR, PARENT, recipient_agencies=("send",))
    assert fields(req, LAST_DAY) == ["recipient_agencies"]
