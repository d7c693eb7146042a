"""The plans service's event catalogue: what it publishes, the contract others read.

Every event type is a strict pydantic model registered here under
`oneplan.plans.<aggregate>.<past-tense event>`; `docs/asyncapi.yaml` is generated from this
catalogue (`./oneplan generate`). The shapes of `assessment.requested`, `advice.requested`,
`advice.received`, `plan.issued` and `plan.amended` are the cross-service contract agreed with
the referrals and transport services (fields may be added, never renamed or removed).

Readers of foreign events (tolerant `ForeignEvent` models of just the fields needed):
children events (the child's age facts and story) and every service's
`oneplan.<service>.advice.submitted` (advice answering one of this service's requests).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from oneplan_events.catalogue import (
    Catalogue,
    DataClass,
    Event,
    ForeignEvent,
    register_contribution_events,
    register_disclosure_event,
)
from oneplan_events.types import AgencyName, BoundedDate, LongText, Name, ShortText
from oneplan_events.vocabulary import PlanSection
from oneplan_plans.domain.clock import ExceptionKind
from oneplan_plans.domain.support_vocabulary import (
    AreaOfNeed,
    CloseReason,
    ProgressStatus,
    ReviewDecision,
    Tier,
)

__all__ = [
    "CATALOGUE",
    "CONTRIBUTIONS",
    "DATA_CLASS",
    "AdviceReceived",
    "AdviceRequested",
    "AdviceReused",
    "AdviceSubmittedFacts",
    "AdviceType",
    "AssessmentAgreed",
    "AssessmentCompleted",
    "AssessmentDeclined",
    "AssessmentRequested",
    "Author",
    "ChildFacts",
    "ChildRegisteredFacts",
    "DetailsChangedFacts",
    "DraftCommented",
    "DraftIssued",
    "ExceptionRecorded",
    "LeadProfessionalNamed",
    # the graduated response
    "MatrixEntry",
    "MatrixVersionPublished",
    "MediationCertificateRecorded",
    "Need",
    "OutcomeDefinition",
    "OutcomeProgressRecorded",
    "OutcomeRecorded",
    "PlanAmended",
    "PlanDeclined",
    "PlanIssued",
    "PlansDisclosureRecorded",
    "ProvisionDeliveryRecorded",
    "ProvisionLine",
    "ProvisionPlanned",
    "Requester",
    "ReviewOutcome",
    "ReviewRecorded",
    "Setting",
    "SettingType",
    "StoryRevisedFacts",
    "SupportCycleStarted",
    "SupportHistory",
    "SupportPlanClosed",
    "SupportPlanOpened",
    "SupportPlanReviewed",
    "SupportSetting",
    "advice_submitted_reader",
]

CATALOGUE = Catalogue("plans")
"""Every event the plans service publishes (and the readers of those it consumes)."""

DATA_CLASS: Final = DataClass.EDUCATION
"""The class of the assessment and plan records: what another agency needs a permit for."""

Author = Annotated[str, Field(min_length=1, max_length=255, description="the author's token sub")]
Urn = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{6}$"), Field(description="the DfE URN (6 digits)")
]
Sections = dict[PlanSection, LongText]

_STRICT = ConfigDict(frozen=True, extra="forbid")


class Requester(StrEnum):
    """Who asked for the assessment (section 36 of the Children and Families Act 2014)."""

    PARENT = "parent"
    YOUNG_PERSON = "young_person"
    SCHOOL = "school"
    PROFESSIONAL = "professional"


class AdviceType(StrEnum):
    """The advice an assessment seeks (Regulation 6(1))."""

    HEALTH = "health"
    SOCIAL_CARE = "social_care"
    EDUCATIONAL_PSYCHOLOGY = "educational_psychology"
    EDUCATION = "education"
    PREPARING_FOR_ADULTHOOD = "preparing_for_adulthood"
    OTHER = "other"


class SettingType(StrEnum):
    """Section I placement types (what the Board counts)."""

    MAINSTREAM = "mainstream"
    RESOURCED_PROVISION = "resourced_provision"
    STATE_SPECIAL = "state_special"
    INDEPENDENT_SPECIAL = "independent_special"
    POST16_FE = "post16_fe"
    SPECIALIST_POST16 = "specialist_post16"
    SUPPORTED_INTERNSHIP = "supported_internship"
    OTHER = "other"


class Setting(BaseModel):
    """A school or setting: named by the family, or section I of a plan."""

    model_config = _STRICT

    name: ShortText
    urn: Urn | None = None
    type: SettingType | None = None


# -- the graduated response's values (the events are at the end of the file) -------------

MatrixEntryId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"),
    Field(description="A SEND Provision Matrix entry's id, e.g. `CL-T2` (letters, digits, . _ -)."),
]
PlanTypeKey = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$"),
    Field(description="A plan type of the vocabulary (`GET /v1/plan-types`)."),
]


class MatrixEntry(BaseModel):
    """What is ordinarily available for one area of need at one tier."""

    model_config = _STRICT

    entry_id: MatrixEntryId
    area: AreaOfNeed
    tier: Tier
    description: ShortText
    typical_provider: ShortText
    frequency: ShortText


class SupportSetting(BaseModel):
    """The school or setting that runs a SEN support plan (its URN names its worklist)."""

    model_config = _STRICT

    name: ShortText
    urn: Urn


class Need(BaseModel):
    """A need found at the "assess" step, and the tier of provision it calls for."""

    model_config = _STRICT

    need_id: UUID
    area: AreaOfNeed
    description: LongText
    expected_tier: Tier


class OutcomeDefinition(BaseModel):
    """An outcome a cycle works towards, and the needs it answers (the golden thread)."""

    model_config = _STRICT

    outcome_id: UUID
    description: LongText
    need_ids: tuple[UUID, ...] = ()


class ProvisionLine(BaseModel):
    """One line of a provision map: the matrix entry it meets and how it is delivered."""

    model_config = _STRICT

    line_id: UUID
    entry_id: MatrixEntryId
    entry_description: ShortText
    area: AreaOfNeed = Field(description="The entry's area in the matrix version in force.")
    tier: Tier = Field(description="The entry's tier in the matrix version in force.")
    provider: ShortText
    frequency: ShortText
    duration: ShortText
    starts_on: BoundedDate
    ends_on: BoundedDate | None = None
    cost_pence: int | None = Field(default=None, ge=0, description="The cost, where known.")
    outcome_ids: tuple[UUID, ...] = Field(default=(), description="The outcomes it supports.")


class SupportHistoryProgress(BaseModel):
    model_config = _STRICT

    status: ProgressStatus
    recorded_on: BoundedDate
    evidence: LongText


class SupportHistoryOutcome(BaseModel):
    model_config = _STRICT

    outcome_id: UUID
    description: LongText
    progress: tuple[SupportHistoryProgress, ...] = ()


class SupportHistoryProvision(BaseModel):
    model_config = _STRICT

    entry_id: MatrixEntryId
    tier: Tier
    provider: ShortText
    frequency: ShortText
    duration: ShortText
    delivered_as_planned: bool | None = None


class SupportHistoryCycle(BaseModel):
    """One assess-plan-do-review cycle, as the assessment receives it."""

    model_config = _STRICT

    cycle: int = Field(ge=1)
    starts_on: BoundedDate
    reviewed_on: BoundedDate | None = None
    decision: ReviewDecision | None = None
    needs: tuple[Need, ...] = ()
    outcomes: tuple[SupportHistoryOutcome, ...] = ()
    provision: tuple[SupportHistoryProvision, ...] = ()
    child_views: LongText | None = None
    child_views_helped_by: ShortText | None = None
    family_views: LongText | None = None
    family_views_given_by: Name | None = None


class SupportHistory(BaseModel):
    """A SEN support plan's history attached to a request for an EHC needs assessment."""

    model_config = _STRICT

    support_plan_id: UUID
    setting: SupportSetting
    opened_on: BoundedDate
    cycles: tuple[SupportHistoryCycle, ...] = Field(min_length=1)


# -- the assessment ------------------------------------------------------------------------


@CATALOGUE.register(
    "oneplan.plans.assessment.requested",
    DATA_CLASS,
    summary="A request for an EHC needs assessment was received (day 1 of every clock).",
)
class AssessmentRequested(Event):
    model_config = _STRICT

    assessment_id: UUID
    child_id: UUID
    received_on: BoundedDate
    requested_by: Requester
    requester_name: Name | None = None
    child_views: LongText | None = Field(
        default=None, description="What the child or young person said, in their own words."
    )
    views_helped_by: ShortText | None = Field(
        default=None, description="Who helped the child or young person say it."
    )
    recorded_by: Author
    sen_support: SupportHistory | None = Field(
        default=None,
        description="The SEN support history the request came with (a review that asked for "
        "the assessment): the evidence, so the family does not tell it again.",
    )


@CATALOGUE.register(
    "oneplan.plans.assessment.agreed",
    DATA_CLASS,
    summary="The authority decided to carry out the EHC needs assessment.",
)
class AssessmentAgreed(Event):
    model_config = _STRICT

    assessment_id: UUID
    child_id: UUID
    decided_on: BoundedDate
    reasons: LongText
    decided_by: Author


@CATALOGUE.register(
    "oneplan.plans.assessment.declined",
    DATA_CLASS,
    summary="The authority decided not to assess; the family's mediation and appeal rights run.",
)
class AssessmentDeclined(Event):
    model_config = _STRICT

    assessment_id: UUID
    child_id: UUID
    decided_on: BoundedDate
    letter_sent_on: BoundedDate
    reasons: LongText
    appeal_by: BoundedDate = Field(description="The last day to appeal as the letter gives it.")
    decided_by: Author


@CATALOGUE.register(
    "oneplan.plans.mediation_certificate.recorded",
    DATA_CLASS,
    summary="A mediation certificate was issued to the family: the appeal deadline may move.",
)
class MediationCertificateRecorded(Event):
    model_config = _STRICT

    assessment_id: UUID
    child_id: UUID
    issued_on: BoundedDate
    appeal_by: BoundedDate
    recorded_by: Author


@CATALOGUE.register(
    "oneplan.plans.advice.requested",
    DATA_CLASS,
    summary="The authority asked an agency for advice for an EHC needs assessment (due in 6 "
    "weeks).",
)
class AdviceRequested(Event):
    model_config = _STRICT

    assessment_id: UUID
    advice_request_id: UUID
    child_id: UUID
    agency: AgencyName
    advice_type: AdviceType
    requested_on: BoundedDate
    due_on: BoundedDate = Field(description="requested_on + 6 weeks (Regulation 8(1)).")
    question: ShortText | None = None


@CATALOGUE.register(
    "oneplan.plans.advice.reused",
    DATA_CLASS,
    summary="Advice already given was reused instead of asked for again (Regulation 6(4)), with "
    "the agreement of the authority, its author and the family.",
)
class AdviceReused(Event):
    model_config = _STRICT

    assessment_id: UUID
    advice_request_id: UUID
    child_id: UUID
    agency: AgencyName
    advice_type: AdviceType
    given_on: BoundedDate
    author: Name
    description: ShortText
    agreed_by_authority: Literal[True]
    agreed_by_author: Literal[True]
    agreed_by_family: Literal[True]
    reused_on: BoundedDate
    recorded_by: Author


@CATALOGUE.register(
    "oneplan.plans.advice.received",
    DATA_CLASS,
    summary="Advice asked for an EHC needs assessment arrived (late advice says by how long).",
)
class AdviceReceived(Event):
    model_config = _STRICT

    assessment_id: UUID
    advice_request_id: UUID
    child_id: UUID
    agency: AgencyName
    received_on: BoundedDate
    late_by_days: int = Field(ge=0)
    source_event_id: UUID | None = Field(
        default=None, description="The agency's advice event, when it came as one."
    )


@CATALOGUE.register(
    "oneplan.plans.exception.recorded",
    DATA_CLASS,
    summary="A lawful exception to the assessment time limits was recorded with its evidence.",
)
class ExceptionRecorded(Event):
    model_config = _STRICT

    assessment_id: UUID
    exception_id: UUID
    child_id: UUID
    kind: ExceptionKind
    starts_on: BoundedDate
    ends_on: BoundedDate
    evidence: LongText
    recorded_by: Author


@CATALOGUE.register(
    "oneplan.plans.assessment.plan_declined",
    DATA_CLASS,
    summary="After assessing, the authority decided not to issue a plan; appeal rights run.",
)
class PlanDeclined(Event):
    model_config = _STRICT

    assessment_id: UUID
    child_id: UUID
    decided_on: BoundedDate
    letter_sent_on: BoundedDate
    reasons: LongText
    appeal_by: BoundedDate
    decided_by: Author


@CATALOGUE.register(
    "oneplan.plans.draft.issued",
    DATA_CLASS,
    summary="A draft EHC plan was sent to the family, who have 15 days to comment.",
)
class DraftIssued(Event):
    model_config = _STRICT

    assessment_id: UUID
    plan_id: UUID
    child_id: UUID
    issued_on: BoundedDate
    comments_due_on: BoundedDate
    sections: Sections
    issued_by: Author


@CATALOGUE.register(
    "oneplan.plans.draft.commented",
    DATA_CLASS,
    summary="The family commented on the draft plan and may have named a setting.",
)
class DraftCommented(Event):
    model_config = _STRICT

    assessment_id: UUID
    child_id: UUID
    received_on: BoundedDate
    comments: LongText | None = None
    setting_requested: Setting | None = None
    recorded_by: Author


@CATALOGUE.register(
    "oneplan.plans.assessment.completed",
    DATA_CLASS,
    summary="The assessment ended with a final EHC plan (its sections as issued).",
)
class AssessmentCompleted(Event):
    model_config = _STRICT

    assessment_id: UUID
    plan_id: UUID
    child_id: UUID
    completed_on: BoundedDate
    sections: Sections
    issued_by: Author


# -- the plan: what transport and the Board read -------------------------------------------


@CATALOGUE.register(
    "oneplan.plans.plan.issued",
    DATA_CLASS,
    summary="A final EHC plan was issued: the child, the setting and its type, the start date "
    "(what transport needs, nothing more sensitive).",
)
class PlanIssued(Event):
    model_config = _STRICT

    plan_id: UUID
    assessment_id: UUID | None
    child_id: UUID
    issued_on: BoundedDate
    setting: Setting | None
    start_date: BoundedDate | None
    next_review_due_on: BoundedDate
    new_plan: bool = Field(default=True, description="A first plan (not a transferred one).")


@CATALOGUE.register(
    "oneplan.plans.plan.amended",
    DATA_CLASS,
    summary="A final EHC plan was amended (a new section I when the placement changed).",
)
class PlanAmended(Event):
    model_config = _STRICT

    plan_id: UUID
    child_id: UUID
    amended_on: BoundedDate
    setting: Setting | None
    start_date: BoundedDate | None
    changed_sections: list[PlanSection] = Field(min_length=1)
    notice_on: BoundedDate | None = Field(
        default=None, description="The amendment notice (the amended plan is due 8 weeks on)."
    )
    amended_by: Author | None = None


class ReviewOutcome(StrEnum):
    """What the authority decided after a review (section 44 of the Children and Families
    Act 2014, Regulation 20)."""

    MAINTAIN = "maintain"
    AMEND = "amend"
    CEASE = "cease"


@CATALOGUE.register(
    "oneplan.plans.review.recorded",
    DATA_CLASS,
    summary="A plan's review was held and the authority decided to maintain, amend or cease it.",
)
class ReviewRecorded(Event):
    model_config = _STRICT

    plan_id: UUID
    child_id: UUID
    meeting_on: BoundedDate
    decided_on: BoundedDate
    decision_due_on: BoundedDate = Field(description="4 weeks after the meeting (Reg 20(10)).")
    outcome: ReviewOutcome
    reasons: LongText | None = None
    preparing_for_adulthood: bool = Field(description="The review covered preparing for adulthood.")
    next_review_due_on: BoundedDate | None = Field(description="None once the plan is to cease.")
    appeal_by: BoundedDate | None = Field(
        default=None,
        description="A decision to cease: the last day to appeal (the plan stays "
        "in force while an appeal runs).",
    )
    recorded_by: Author


@CATALOGUE.register(
    "oneplan.plans.lead_professional.named",
    DATA_CLASS,
    summary="The SEND team or early help named the lead professional who coordinates the team "
    "around the child (whom the family calls).",
)
class LeadProfessionalNamed(Event):
    model_config = _STRICT

    child_id: UUID
    name: ShortText
    role: ShortText
    agency: AgencyName
    contact: ShortText = Field(description="how the family and the team reach them")
    named_on: BoundedDate
    named_by: Author


CONTRIBUTIONS = register_contribution_events("plans", CATALOGUE)
"""`oneplan.plans.contribution.submitted|revised|withdrawn`."""

PlansDisclosureRecorded = register_disclosure_event("plans", CATALOGUE)
"""`oneplan.plans.disclosure.recorded`: published when another agency is shown this service's
data (`SharingDep.record`); the consent service adds it to the family's disclosure log."""


# -- what the plans service reads from other services --------------------------------------


class ChildFacts(ForeignEvent):
    """What every children event repeats: the child's age facts."""

    child_id: UUID
    date_of_birth: date
    compulsory_school_age_ends_on: date


@CATALOGUE.reads("oneplan.children.child.registered", DataClass.IDENTITY)
class ChildRegisteredFacts(ChildFacts):
    """A child's record was created."""


@CATALOGUE.reads("oneplan.children.details.changed", DataClass.IDENTITY)
class DetailsChangedFacts(ChildFacts):
    """A child's details changed (the date of birth may be among them)."""


@CATALOGUE.reads("oneplan.children.story.revised", DataClass.STORY)
class StoryRevisedFacts(ChildFacts):
    """The child's story ('all about me'): section A of a draft plan starts from it."""

    revision: int
    story: dict[str, Any]


class AdviceSubmittedFacts(ForeignEvent):
    """Any agency's `oneplan.<service>.advice.submitted`: advice answering a request."""

    type_pattern: ClassVar[str] = "oneplan.*.advice.submitted"

    advice_request_id: UUID
    child_id: UUID
    submitted_on: date
    assessment_id: UUID | None = None
    agency: str | None = None


_ADVICE_READERS: dict[str, type[AdviceSubmittedFacts]] = {}

# The data class each publisher gives its advice events (the envelope's must match): the
# health and social care services' own; any other agency's is read as education.
_ADVICE_DATA_CLASSES: Final = {
    "referrals": DataClass.HEALTH,
    "socialcare": DataClass.SOCIAL_CARE,
}


def advice_submitted_reader(service: str) -> type[AdviceSubmittedFacts]:
    """The reader of `oneplan.<service>.advice.submitted` (one class per publishing service,
    as the catalogue keeps one type per class)."""
    if service not in _ADVICE_READERS:
        name = "".join(part.title() for part in service.split("_")) + "AdviceSubmittedFacts"
        _ADVICE_READERS[service] = type(name, (AdviceSubmittedFacts,), {"__module__": __name__})
    return _ADVICE_READERS[service]


def _register_advice_reader(catalogue: Catalogue, service: str) -> None:
    event_type = f"oneplan.{service}.advice.submitted"
    if event_type not in catalogue:
        catalogue.add_generic_reader(
            event_type,
            advice_submitted_reader(service),
            _ADVICE_DATA_CLASSES.get(service, DataClass.EDUCATION),
            f"{service}: advice answering an EHC needs assessment's request",
        )


# An agency the plans service has never heard of can answer an advice request: its
# `advice.submitted` decodes on first sight, as contributions and disclosures do.
CATALOGUE.reads_family(
    r"^oneplan\.(?P<service>[a-z][a-z0-9_]*)\.advice\.submitted$", _register_advice_reader
)
for _known in ("referrals", "socialcare"):
    _register_advice_reader(CATALOGUE, _known)


# -- the graduated response: the SEND Provision Matrix and SEN support plans ---------------


@CATALOGUE.register(
    "oneplan.plans.provision_matrix.version_published",
    DATA_CLASS,
    summary="A version of the SEND Provision Matrix was published, in force from its "
    "effective date (public: what every family and school may expect).",
)
class MatrixVersionPublished(Event):
    model_config = _STRICT

    matrix_version: int = Field(ge=1)
    effective_from: BoundedDate
    published_on: BoundedDate
    title: ShortText
    entries: tuple[MatrixEntry, ...] = Field(min_length=1)
    published_by: Author


@CATALOGUE.register(
    "oneplan.plans.support_plan.opened",
    DATA_CLASS,
    summary="A school or setting opened a SEN support plan for a child.",
)
class SupportPlanOpened(Event):
    model_config = _STRICT

    plan_id: UUID
    child_id: UUID
    plan_type: PlanTypeKey = "sen_support"
    setting: SupportSetting
    opened_on: BoundedDate
    opened_by: Author
    opened_by_agency: AgencyName


@CATALOGUE.register(
    "oneplan.plans.support_plan.cycle_started",
    DATA_CLASS,
    summary="An assess-plan-do-review cycle started: the needs assessed, the child's and the "
    "family's views, the outcomes (the provision map's lines follow as provision.planned).",
)
class SupportCycleStarted(Event):
    model_config = _STRICT

    plan_id: UUID
    child_id: UUID
    cycle: int = Field(ge=1)
    starts_on: BoundedDate
    matrix_version: int = Field(ge=1, description="The matrix version in force on starts_on.")
    needs: tuple[Need, ...] = Field(min_length=1)
    outcomes: tuple[OutcomeDefinition, ...] = Field(min_length=1)
    child_views: LongText | None = None
    child_views_helped_by: ShortText | None = None
    family_views: LongText | None = None
    family_views_given_by: Name | None = None
    recorded_by: Author


@CATALOGUE.register(
    "oneplan.plans.provision.planned",
    DATA_CLASS,
    summary="A line was added to a cycle's provision map (the matrix entry it meets, tier, "
    "provider, frequency, duration, dates, cost where known).",
)
class ProvisionPlanned(Event):
    model_config = _STRICT

    plan_id: UUID
    child_id: UUID
    cycle: int = Field(ge=1)
    matrix_version: int = Field(ge=1)
    line: ProvisionLine
    recorded_by: Author


@CATALOGUE.register(
    "oneplan.plans.provision.delivery_recorded",
    DATA_CLASS,
    summary="During 'do', whether a provision line was delivered as planned.",
)
class ProvisionDeliveryRecorded(Event):
    model_config = _STRICT

    plan_id: UUID
    child_id: UUID
    cycle: int = Field(ge=1)
    line_id: UUID
    recorded_on: BoundedDate
    delivered_as_planned: bool
    note: ShortText | None = None
    recorded_by: Author


@CATALOGUE.register(
    "oneplan.plans.outcome.recorded",
    DATA_CLASS,
    summary="An outcome of a plan was recorded for tracking (section E of an EHC plan).",
)
class OutcomeRecorded(Event):
    model_config = _STRICT

    plan_id: UUID
    plan_type: PlanTypeKey
    child_id: UUID
    outcome_id: UUID
    description: LongText
    recorded_on: BoundedDate
    recorded_by: Author


@CATALOGUE.register(
    "oneplan.plans.outcome.progress_recorded",
    DATA_CLASS,
    summary="Progress on an outcome was recorded at a review, with its evidence (SEN support "
    "outcomes and section E of EHC plans).",
)
class OutcomeProgressRecorded(Event):
    model_config = _STRICT

    plan_id: UUID
    plan_type: PlanTypeKey
    child_id: UUID
    outcome_id: UUID
    status: ProgressStatus
    evidence: LongText
    recorded_on: BoundedDate
    cycle: int | None = Field(default=None, ge=1, description="The SEN support cycle reviewed.")
    recorded_by: Author


@CATALOGUE.register(
    "oneplan.plans.support_plan.reviewed",
    DATA_CLASS,
    summary="A SEN support cycle was reviewed: continue, change, step down, or request an EHC "
    "needs assessment (then `assessment_id` names the request it started).",
)
class SupportPlanReviewed(Event):
    model_config = _STRICT

    plan_id: UUID
    child_id: UUID
    cycle: int = Field(ge=1)
    reviewed_on: BoundedDate
    decision: ReviewDecision
    reasons: LongText | None = None
    assessment_id: UUID | None = None
    recorded_by: Author


@CATALOGUE.register(
    "oneplan.plans.support_plan.closed",
    DATA_CLASS,
    summary="A SEN support plan ended (stepped down, the child left the setting, or an EHC "
    "plan took over).",
)
class SupportPlanClosed(Event):
    model_config = _STRICT

    plan_id: UUID
    child_id: UUID
    closed_on: BoundedDate
    reason: CloseReason
    recorded_by: Author
