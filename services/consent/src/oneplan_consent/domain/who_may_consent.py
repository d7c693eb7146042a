"""Who may give consent for a child, and whether a consent request is acceptable. Pure.

The rules (see docs/consent-rules.md):
- while the child is of compulsory school age: a person holding parental responsibility, or
  the child themself where a practitioner has recorded Gillick competence;
- once over compulsory school age (after the last Friday in June of the school year they turn
  16): the young person, presumed to have capacity; a parent only where a lack of capacity
  for this decision is recorded under the Mental Capacity Act.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from oneplan_consent.events import CaptureMethod, ConsentCapacity, ConsentGiver, Purpose
from oneplan_events.catalogue import DataClass
from oneplan_events.clock import local_date

__all__ = [
    "SHAREABLE_DATA_CLASSES",
    "ChildFacts",
    "ConsentRequest",
    "FamilyMember",
    "Issue",
    "check_consent_request",
]

#: The data classes a consent may cover (consent records themselves are not shared this way).
SHAREABLE_DATA_CLASSES = frozenset(DataClass) - {DataClass.CONSENT}


@dataclass(frozen=True, slots=True)
class Issue:
    """One reason a request is refused: the field it concerns and why."""

    field: str
    message: str


@dataclass(frozen=True, slots=True)
class FamilyMember:
    """A person in the child's network, as the children service reports them."""

    member_id: UUID
    relationship: str
    parental_responsibility: bool


@dataclass(frozen=True, slots=True)
class ChildFacts:
    """What the consent service knows about a child (learned from children events)."""

    child_id: UUID
    date_of_birth: date
    compulsory_school_age_ends_on: date
    members: Mapping[UUID, FamilyMember] = field(default_factory=dict)

    def over_compulsory_school_age(self, on: date) -> bool:
        """True after the last Friday in June of the school year the child turns 16."""
        return on > self.compulsory_school_age_ends_on

    def holds_parental_responsibility(self, person_id: UUID | None) -> bool:
        member = self.members.get(person_id) if person_id is not None else None
        return member is not None and member.parental_responsibility


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    """A consent as asked for, before the rules have accepted it."""

    given_by: ConsentGiver
    owner_agencies: tuple[str, ...]
    recipient_agencies: tuple[str, ...]
    data_classes: tuple[DataClass, ...]
    purposes: tuple[Purpose, ...]
    valid_from: datetime
    valid_until: datetime
    capture_method: CaptureMethod
    witness_name: str | None = None


def check_consent_request(
    request: ConsentRequest, child: ChildFacts, known_agencies: frozenset[str], today: date
) -> list[Issue]:
    """Every reason the request cannot be accepted for this child on `today` (empty: fine)."""
    return [
        *_check_giver(request.given_by, child, today),
        *_check_parent_period(request, child),
        *_check_scope(request, known_agencies),
        *_check_period(request),
        *_check_capture(request),
    ]


def _check_giver(giver: ConsentGiver, child: ChildFacts, today: date) -> list[Issue]:
    over = child.over_compulsory_school_age(today)
    ends = child.compulsory_school_age_ends_on.isoformat()
    match giver.capacity:
        case ConsentCapacity.PARENT_WITH_PR:
            if over:
                return [
                    Issue(
                        "given_by.capacity",
                        f"the child has been over compulsory school age since {ends}: the young "
                        "person consents for themself; a parent may consent only where a lack of "
                        "capacity for this decision is recorded (capacity "
                        "parent_for_young_person_lacking_capacity with an MCA assessment "
                        "reference)",
                    )
                ]
            return _require_pr(giver, child)
        case ConsentCapacity.PARENT_FOR_YOUNG_PERSON_LACKING_CAPACITY:
            issues = _require_pr(giver, child)
            if not over:
                issues.append(
                    Issue(
                        "given_by.capacity",
                        "the child is of compulsory school age (until "
                        f"{ends}): a parent with parental responsibility consents as "
                        "parent_with_pr",
                    )
                )
            if not giver.mca_assessment_reference:
                issues.append(
                    Issue(
                        "given_by.mca_assessment_reference",
                        "a parent may consent for a young person only where a Mental Capacity Act "
                        "assessment recording a lack of capacity for this decision is referenced",
                    )
                )
            return issues
        case ConsentCapacity.YOUNG_PERSON:
            issues = _require_self(giver, child)
            if not over:
                issues.append(
                    Issue(
                        "given_by.capacity",
                        f"the child is of compulsory school age until {ends}: their own consent "
                        "needs a recorded Gillick competence assessment (capacity "
                        "gillick_competent_child)",
                    )
                )
            return issues
        case ConsentCapacity.GILLICK_COMPETENT_CHILD:
            issues = _require_self(giver, child)
            if over:
                issues.append(
                    Issue(
                        "given_by.capacity",
                        f"the child has been over compulsory school age since {ends}: they "
                        "consent as young_person",
                    )
                )
            if not giver.gillick_assessment_reference:
                issues.append(
                    Issue(
                        "given_by.gillick_assessment_reference",
                        "a child under compulsory school age consents for themself only where a "
                        "practitioner's Gillick competence assessment is referenced",
                    )
                )
            return issues
    return []


def _check_parent_period(request: ConsentRequest, child: ChildFacts) -> list[Issue]:
    # Why: once over compulsory school age the young person decides; a parent's consent
    # must not carry on speaking for them.
    ends = child.compulsory_school_age_ends_on
    if request.given_by.capacity is not ConsentCapacity.PARENT_WITH_PR:
        return []
    if local_date(request.valid_until) <= ends:
        return []
    return [
        Issue(
            "valid_until",
            f"a parent's consent cannot run past the end of compulsory school age ({ends}); "
            "from then the young person consents for themself",
        )
    ]


def _require_pr(giver: ConsentGiver, child: ChildFacts) -> list[Issue]:
    if child.holds_parental_responsibility(giver.person_id):
        return []
    return [
        Issue(
            "given_by.person_id",
            "the person giving consent is not recorded as holding parental responsibility for "
            "this child",
        )
    ]


def _require_self(giver: ConsentGiver, child: ChildFacts) -> list[Issue]:
    if giver.person_id == child.child_id:
        return []
    return [
        Issue(
            "given_by.person_id",
            "consent in this capacity is the child's own: person_id must be the child's id",
        )
    ]


def _check_scope(request: ConsentRequest, known_agencies: frozenset[str]) -> list[Issue]:
    issues = [
        Issue(name, f"unknown agency {agency!r}; known: {', '.join(sorted(known_agencies))}")
        for name, agencies in (
            ("owner_agencies", request.owner_agencies),
            ("recipient_agencies", request.recipient_agencies),
        )
        for agency in agencies
        if agency not in known_agencies
    ]
    issues += [
        Issue("data_classes", f"data class {dc.value!r} cannot be shared by consent")
        for dc in request.data_classes
        if dc not in SHAREABLE_DATA_CLASSES
    ]
    if set(request.owner_agencies) == set(request.recipient_agencies) and (
        len(set(request.owner_agencies)) == 1
    ):
        issues.append(Issue("recipient_agencies", "an agency needs no consent to see its own data"))
    return issues


def _check_period(request: ConsentRequest) -> list[Issue]:
    if request.valid_until <= request.valid_from:
        return [
            Issue(
                "valid_until",
                f"the period must end after it starts ({request.valid_until.isoformat()} is not "
                f"after {request.valid_from.isoformat()})",
            )
        ]
    return []


def _check_capture(request: ConsentRequest) -> list[Issue]:
    if request.capture_method is CaptureMethod.VERBAL_WITH_WITNESS and not request.witness_name:
        return [Issue("witness_name", "verbal consent needs the name of the witness")]
    return []
