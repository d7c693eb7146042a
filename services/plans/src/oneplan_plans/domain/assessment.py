"""An EHC needs assessment as a decider (streams `assessment/<id>`): from the request to a
decision not to assess, a decision not to issue, or a final plan.

Pure: the instant is an argument ("today" is its date in England), nothing here does I/O.
Every date a command carries is checked against the law and the record: nothing before the
request, nothing in the future, each step only after the one it follows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import assert_never
from uuid import UUID

from oneplan_events.catalogue import Event
from oneplan_events.clock import local_date
from oneplan_events.vocabulary import PlanSection
from oneplan_plans.domain.calendar import add_days, add_weeks
from oneplan_plans.domain.clock import (
    MIN_CLOSURE_OR_ABSENCE_DAYS,
    AdviceTimeline,
    AssessmentTimeline,
    ExceptionKind,
    RecordedException,
    appeal_deadline,
)
from oneplan_plans.domain.commands import (
    AssessmentCommand,
    CompleteAssessment,
    DecideNotToIssue,
    DecideToAssess,
    IssueDraft,
    ReceiveAdvice,
    RecordComments,
    RecordException,
    RecordMediationCertificate,
    RequestAdvice,
    RequestAssessment,
    ReuseAdvice,
)
from oneplan_plans.domain.errors import (
    AlreadyRecorded,
    Broken,
    NotRecorded,
    RulesBroken,
    StepOutOfOrder,
)
from oneplan_plans.events import (
    AdviceReceived,
    AdviceRequested,
    AdviceReused,
    AdviceType,
    AssessmentAgreed,
    AssessmentCompleted,
    AssessmentDeclined,
    AssessmentRequested,
    DraftCommented,
    DraftIssued,
    ExceptionRecorded,
    MediationCertificateRecorded,
    PlanDeclined,
    Setting,
    SupportHistory,
)

__all__ = [
    "ASSESSMENT",
    "DRAFT_SECTIONS_REQUIRED",
    "PFA_FROM_YEAR",
    "AdviceItem",
    "Assessment",
    "AssessmentDecider",
    "Stage",
]

DRAFT_SECTIONS_REQUIRED = (PlanSection.B, PlanSection.E, PlanSection.F)
"""A draft plan states the needs, the outcomes and the special educational provision."""

PFA_FROM_YEAR = 9
"""Preparing-for-adulthood advice is sought from Year 9 (Regulation 6(1)(g))."""

COMMENT_DAYS = 15


class Stage(StrEnum):
    REQUESTED = "requested"
    DECLINED = "declined"
    ASSESSING = "assessing"
    PLAN_DECLINED = "plan_declined"
    DRAFT_ISSUED = "draft_issued"
    COMPLETED = "completed"


@dataclass(frozen=True, slots=True)
class AdviceItem:
    """One advice request, or advice reused in its place."""

    advice_request_id: UUID
    agency: str
    advice_type: AdviceType
    requested_on: date
    due_on: date
    question: str | None = None
    received_on: date | None = None
    late_by_days: int = 0
    source_event_id: UUID | None = None
    reused_from: str | None = None  # "given on ... by ...": Regulation 6(4)

    @property
    def outstanding(self) -> bool:
        return self.received_on is None and self.reused_from is None


@dataclass(frozen=True, slots=True)
class Assessment:
    """An assessment after `version` events."""

    assessment_id: UUID
    child_id: UUID
    received_on: date
    requested_by: str
    stage: Stage
    version: int
    requester_name: str | None = None
    child_views: str | None = None
    views_helped_by: str | None = None
    decided_on: date | None = None
    decision_reasons: str | None = None
    decision_letter_on: date | None = None
    appeal_by: date | None = None
    mediation_certificate_on: date | None = None
    advice: tuple[AdviceItem, ...] = ()
    exceptions: tuple[RecordedException, ...] = ()
    not_to_issue_on: date | None = None
    not_to_issue_letter_on: date | None = None
    plan_id: UUID | None = None
    draft_issued_on: date | None = None
    comments_due_on: date | None = None
    sections: tuple[tuple[PlanSection, str], ...] = ()
    comments_received_on: date | None = None
    comments: str | None = None
    setting_requested: Setting | None = None
    final_issued_on: date | None = None
    sen_support: SupportHistory | None = None  # the evidence a SEN support review sent

    def advice_item(self, advice_request_id: UUID) -> AdviceItem | None:
        return next((a for a in self.advice if a.advice_request_id == advice_request_id), None)

    def timeline(self) -> AssessmentTimeline:
        """The dates the clock engine computes from."""
        return AssessmentTimeline(
            received_on=self.received_on,
            decided_on=self.decided_on,
            agreed=None if self.decided_on is None else self.stage is not Stage.DECLINED,
            decision_letter_on=self.decision_letter_on,
            advice=[
                AdviceTimeline(
                    a.advice_request_id,
                    a.agency,
                    a.advice_type.value,
                    a.requested_on,
                    a.received_on,
                )
                for a in self.advice
                if a.reused_from is None
            ],
            exceptions=self.exceptions,
            not_to_issue_on=self.not_to_issue_on,
            not_to_issue_letter_on=self.not_to_issue_letter_on,
            mediation_certificate_on=self.mediation_certificate_on,
            draft_issued_on=self.draft_issued_on,
            comments_received_on=self.comments_received_on,
            final_issued_on=self.final_issued_on,
        )


# -- rules ---------------------------------------------------------------------------------


def _dated(
    broken: list[Broken], field: str, day: date, after: date, what: str, today: date
) -> None:
    if day < after:
        broken.append(Broken(field, f"is before {what} ({after.isoformat()})"))
    if day > today:
        broken.append(Broken(field, f"is in the future (today is {today.isoformat()})"))


def _refuse(broken: list[Broken]) -> None:
    if broken:
        raise RulesBroken(broken)


def _require(state: Assessment | None, *stages: Stage, step: str) -> Assessment:
    if state is None:
        raise NotRecorded("no such assessment")
    if state.stage not in stages:
        wanted = " or ".join(stage.value for stage in stages)
        raise StepOutOfOrder(
            f"{step} needs the assessment to be {wanted}; it is {state.stage.value}"
        )
    return state


# -- decide --------------------------------------------------------------------------------


def decide(state: Assessment | None, command: AssessmentCommand, now: datetime) -> Sequence[Event]:
    """The events that carry out `command` on `state`, or a DomainError; never any I/O."""
    today = local_date(now)
    match command:
        case RequestAssessment():
            return _request(state, command, today)
        case DecideToAssess():
            return _decide_to_assess(state, command, today)
        case RecordMediationCertificate():
            return _mediation(state, command, today)
        case RequestAdvice():
            return _request_advice(state, command, today)
        case ReuseAdvice():
            return _reuse_advice(state, command, today)
        case ReceiveAdvice():
            return _receive_advice(state, command, today)
        case RecordException():
            return _exception(state, command, today)
        case DecideNotToIssue():
            return _not_to_issue(state, command, today)
        case IssueDraft():
            return _draft(state, command, today)
        case RecordComments():
            return _comments(state, command, today)
        case CompleteAssessment():
            return _complete(state, command, today)
        case _:
            assert_never(command)


def _request(state: Assessment | None, c: RequestAssessment, today: date) -> list[Event]:
    if state is not None:
        raise AlreadyRecorded(f"assessment {c.assessment_id} is recorded already")
    if c.received_on > today:
        raise RulesBroken([Broken("received_on", f"is in the future (today is {today})")])
    return [
        AssessmentRequested(
            assessment_id=c.assessment_id,
            child_id=c.child_id,
            received_on=c.received_on,
            requested_by=c.requested_by,
            requester_name=c.requester_name,
            child_views=c.child_views,
            views_helped_by=c.views_helped_by,
            recorded_by=c.recorded_by,
            sen_support=c.sen_support,
        )
    ]


def _decide_to_assess(state: Assessment | None, c: DecideToAssess, today: date) -> list[Event]:
    s = _require(state, Stage.REQUESTED, step="a decision whether to assess")
    broken: list[Broken] = []
    _dated(broken, "decided_on", c.decided_on, s.received_on, "the request was received", today)
    if c.agree:
        _refuse(broken)
        return [
            AssessmentAgreed(
                assessment_id=s.assessment_id,
                child_id=s.child_id,
                decided_on=c.decided_on,
                reasons=c.reasons,
                decided_by=c.decided_by,
            )
        ]
    if c.letter_sent_on is None:
        broken.append(Broken("letter_sent_on", "a decision not to assess needs the letter's date"))
    else:
        _dated(broken, "letter_sent_on", c.letter_sent_on, c.decided_on, "the decision", today)
    _refuse(broken)
    assert c.letter_sent_on is not None
    appeal_by, _ = appeal_deadline(c.letter_sent_on)
    return [
        AssessmentDeclined(
            assessment_id=s.assessment_id,
            child_id=s.child_id,
            decided_on=c.decided_on,
            letter_sent_on=c.letter_sent_on,
            reasons=c.reasons,
            appeal_by=appeal_by,
            decided_by=c.decided_by,
        )
    ]


def _mediation(state: Assessment | None, c: RecordMediationCertificate, today: date) -> list[Event]:
    s = _require(state, Stage.DECLINED, Stage.PLAN_DECLINED, step="a mediation certificate")
    letter = s.decision_letter_on if s.stage is Stage.DECLINED else s.not_to_issue_letter_on
    assert letter is not None
    broken: list[Broken] = []
    _dated(broken, "issued_on", c.issued_on, letter, "the decision letter", today)
    _refuse(broken)
    appeal_by, _ = appeal_deadline(letter, c.issued_on)
    return [
        MediationCertificateRecorded(
            assessment_id=s.assessment_id,
            child_id=s.child_id,
            issued_on=c.issued_on,
            appeal_by=appeal_by,
            recorded_by=c.recorded_by,
        )
    ]


_ADVISING = (Stage.ASSESSING,)


def _request_advice(state: Assessment | None, c: RequestAdvice, today: date) -> list[Event]:
    s = _require(state, *_ADVISING, step="an advice request")
    if s.advice_item(c.advice_request_id) is not None:
        raise AlreadyRecorded(f"advice request {c.advice_request_id} is recorded already")
    broken: list[Broken] = []
    assert s.decided_on is not None
    _dated(broken, "requested_on", c.requested_on, s.decided_on, "the decision to assess", today)
    if (
        c.advice_type is AdviceType.PREPARING_FOR_ADULTHOOD
        and c.school_year is not None
        and c.school_year < PFA_FROM_YEAR
    ):
        broken.append(
            Broken(
                "advice_type",
                f"preparing-for-adulthood advice is sought from Year "
                f"{PFA_FROM_YEAR}; the child is in year group {c.school_year}",
            )
        )
    _refuse(broken)
    return [
        AdviceRequested(
            assessment_id=s.assessment_id,
            advice_request_id=c.advice_request_id,
            child_id=s.child_id,
            agency=c.agency,
            advice_type=c.advice_type,
            requested_on=c.requested_on,
            due_on=add_weeks(c.requested_on, 6),
            question=c.question,
        )
    ]


def _reuse_advice(state: Assessment | None, c: ReuseAdvice, today: date) -> list[Event]:
    s = _require(state, *_ADVISING, step="reusing advice")
    if s.advice_item(c.advice_request_id) is not None:
        raise AlreadyRecorded(f"advice request {c.advice_request_id} is recorded already")
    broken = [
        Broken(field, f"Regulation 6(4): advice is reused only with the agreement of {who}")
        for field, who, agreed in (
            ("agreed_by_authority", "the authority", c.agreed_by_authority),
            ("agreed_by_author", "the person who gave it", c.agreed_by_author),
            ("agreed_by_family", "the child's parent or the young person", c.agreed_by_family),
        )
        if not agreed
    ]
    if c.given_on > c.reused_on:
        broken.append(Broken("given_on", "is after the day it is reused"))
    assert s.decided_on is not None
    _dated(broken, "reused_on", c.reused_on, s.decided_on, "the decision to assess", today)
    _refuse(broken)
    return [
        AdviceReused(
            assessment_id=s.assessment_id,
            advice_request_id=c.advice_request_id,
            child_id=s.child_id,
            agency=c.agency,
            advice_type=c.advice_type,
            given_on=c.given_on,
            author=c.author,
            description=c.description,
            agreed_by_authority=True,
            agreed_by_author=True,
            agreed_by_family=True,
            reused_on=c.reused_on,
            recorded_by=c.recorded_by,
        )
    ]


def _receive_advice(state: Assessment | None, c: ReceiveAdvice, today: date) -> list[Event]:
    s = _require(
        state,
        Stage.ASSESSING,
        Stage.DRAFT_ISSUED,
        Stage.PLAN_DECLINED,
        Stage.COMPLETED,
        step="advice received",
    )
    item = s.advice_item(c.advice_request_id)
    if item is None or item.reused_from is not None:
        raise NotRecorded(
            f"assessment {s.assessment_id} has no advice request {c.advice_request_id}"
        )
    if item.received_on is not None:
        if c.from_agency:
            return []  # an agency's event told us again: nothing more to record
        raise AlreadyRecorded(f"the advice was received on {item.received_on.isoformat()}")
    broken: list[Broken] = []
    _dated(broken, "received_on", c.received_on, item.requested_on, "it was asked for", today)
    _refuse(broken)
    return [
        AdviceReceived(
            assessment_id=s.assessment_id,
            advice_request_id=item.advice_request_id,
            child_id=s.child_id,
            agency=item.agency,
            received_on=c.received_on,
            late_by_days=max(0, (c.received_on - item.due_on).days),
            source_event_id=c.source_event_id,
        )
    ]


def _exception(state: Assessment | None, c: RecordException, today: date) -> list[Event]:
    s = _require(
        state,
        Stage.REQUESTED,
        Stage.ASSESSING,
        Stage.DRAFT_ISSUED,
        step="an exception",
    )
    if any(e.exception_id == c.exception_id for e in s.exceptions):
        raise AlreadyRecorded(f"exception {c.exception_id} is recorded already")
    broken: list[Broken] = []
    if c.ends_on < c.starts_on:
        broken.append(Broken("ends_on", "is before starts_on"))
    if c.ends_on < s.received_on:
        broken.append(Broken("ends_on", "is before the request was received: it cannot delay it"))
    if c.starts_on > today:
        broken.append(Broken("starts_on", f"is in the future (today is {today.isoformat()})"))
    days = (c.ends_on - c.starts_on).days + 1
    if (
        c.kind is not ExceptionKind.EXCEPTIONAL_PERSONAL_CIRCUMSTANCES
        and days < MIN_CLOSURE_OR_ABSENCE_DAYS
    ):
        broken.append(
            Broken(
                "ends_on",
                f"a {c.kind.value.replace('_', ' ')} is an exception only "
                f"for 4 weeks or more; this is {days} day(s)",
            )
        )
    _refuse(broken)
    return [
        ExceptionRecorded(
            assessment_id=s.assessment_id,
            exception_id=c.exception_id,
            child_id=s.child_id,
            kind=c.kind,
            starts_on=c.starts_on,
            ends_on=c.ends_on,
            evidence=c.evidence,
            recorded_by=c.recorded_by,
        )
    ]


def _not_to_issue(state: Assessment | None, c: DecideNotToIssue, today: date) -> list[Event]:
    s = _require(state, Stage.ASSESSING, step="a decision not to issue a plan")
    assert s.decided_on is not None
    broken: list[Broken] = []
    _dated(broken, "decided_on", c.decided_on, s.decided_on, "the decision to assess", today)
    _dated(broken, "letter_sent_on", c.letter_sent_on, c.decided_on, "the decision", today)
    _refuse(broken)
    appeal_by, _ = appeal_deadline(c.letter_sent_on)
    return [
        PlanDeclined(
            assessment_id=s.assessment_id,
            child_id=s.child_id,
            decided_on=c.decided_on,
            letter_sent_on=c.letter_sent_on,
            reasons=c.reasons,
            appeal_by=appeal_by,
            decided_by=c.decided_by,
        )
    ]


def _draft(state: Assessment | None, c: IssueDraft, today: date) -> list[Event]:
    s = _require(state, Stage.ASSESSING, step="a draft plan")
    assert s.decided_on is not None
    broken: list[Broken] = []
    _dated(broken, "issued_on", c.issued_on, s.decided_on, "the decision to assess", today)
    missing = [section.value for section in DRAFT_SECTIONS_REQUIRED if not c.sections.get(section)]
    if missing:
        broken.append(Broken("sections", f"a draft plan needs sections {', '.join(missing)}"))
    outstanding = [a.agency for a in s.advice if a.outstanding]
    if not s.advice:
        broken.append(Broken("sections", "no advice was asked for or reused (Regulation 6(1))"))
    elif outstanding:
        broken.append(
            Broken(
                "sections",
                f"the draft rests on the advice asked for; still awaited from "
                f"{', '.join(sorted(set(outstanding)))}",
            )
        )
    _refuse(broken)
    return [
        DraftIssued(
            assessment_id=s.assessment_id,
            plan_id=c.plan_id,
            child_id=s.child_id,
            issued_on=c.issued_on,
            comments_due_on=add_days(c.issued_on, COMMENT_DAYS),
            sections=dict(c.sections),
            issued_by=c.issued_by,
        )
    ]


def _comments(state: Assessment | None, c: RecordComments, today: date) -> list[Event]:
    s = _require(state, Stage.DRAFT_ISSUED, step="comments on the draft plan")
    assert s.draft_issued_on is not None
    broken: list[Broken] = []
    _dated(broken, "received_on", c.received_on, s.draft_issued_on, "the draft plan", today)
    if c.comments is None and c.setting_requested is None:
        broken.append(Broken("comments", "give the comments, the setting asked for, or both"))
    _refuse(broken)
    return [
        DraftCommented(
            assessment_id=s.assessment_id,
            child_id=s.child_id,
            received_on=c.received_on,
            comments=c.comments,
            setting_requested=c.setting_requested,
            recorded_by=c.recorded_by,
        )
    ]


def _complete(state: Assessment | None, c: CompleteAssessment, today: date) -> list[Event]:
    s = _require(state, Stage.DRAFT_ISSUED, step="the final plan")
    assert s.draft_issued_on is not None
    assert s.comments_due_on is not None
    assert s.plan_id is not None
    broken: list[Broken] = []
    _dated(broken, "issued_on", c.issued_on, s.draft_issued_on, "the draft plan", today)
    heard = s.comments_received_on is not None and c.issued_on >= s.comments_received_on
    if c.issued_on < s.comments_due_on and not heard:
        broken.append(
            Broken(
                "issued_on",
                f"Regulation 13(1): the family has until "
                f"{s.comments_due_on.isoformat()} to comment on the draft",
            )
        )
    _refuse(broken)
    return [
        AssessmentCompleted(
            assessment_id=s.assessment_id,
            plan_id=s.plan_id,
            child_id=s.child_id,
            completed_on=c.issued_on,
            sections=dict(c.sections),
            issued_by=c.issued_by,
        )
    ]


# -- evolve --------------------------------------------------------------------------------


def evolve(state: Assessment | None, event: Event) -> Assessment | None:
    """The assessment after `event`."""
    if isinstance(event, AssessmentRequested):
        return Assessment(
            assessment_id=event.assessment_id,
            child_id=event.child_id,
            received_on=event.received_on,
            requested_by=event.requested_by.value,
            stage=Stage.REQUESTED,
            version=1,
            requester_name=event.requester_name,
            child_views=event.child_views,
            views_helped_by=event.views_helped_by,
            sen_support=event.sen_support,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before the assessment was requested")
    return replace(_evolve(state, event), version=state.version + 1)


def _evolve(s: Assessment, event: Event) -> Assessment:
    match event:
        case AssessmentAgreed():
            return replace(
                s,
                stage=Stage.ASSESSING,
                decided_on=event.decided_on,
                decision_reasons=event.reasons,
            )
        case AssessmentDeclined():
            return replace(
                s,
                stage=Stage.DECLINED,
                decided_on=event.decided_on,
                decision_reasons=event.reasons,
                decision_letter_on=event.letter_sent_on,
                appeal_by=event.appeal_by,
            )
        case MediationCertificateRecorded():
            return replace(s, mediation_certificate_on=event.issued_on, appeal_by=event.appeal_by)
        case AdviceRequested():
            item = AdviceItem(
                event.advice_request_id,
                event.agency,
                event.advice_type,
                event.requested_on,
                event.due_on,
                event.question,
            )
            return replace(s, advice=(*s.advice, item))
        case AdviceReused():
            item = AdviceItem(
                event.advice_request_id,
                event.agency,
                event.advice_type,
                event.reused_on,
                event.reused_on,
                reused_from=f"given on {event.given_on.isoformat()} by {event.author}: "
                f"{event.description}",
            )
            return replace(s, advice=(*s.advice, item))
        case AdviceReceived():
            advice = tuple(
                replace(
                    a,
                    received_on=event.received_on,
                    late_by_days=event.late_by_days,
                    source_event_id=event.source_event_id,
                )
                if a.advice_request_id == event.advice_request_id
                else a
                for a in s.advice
            )
            return replace(s, advice=advice)
        case ExceptionRecorded():
            recorded = RecordedException(
                event.exception_id, event.kind, event.starts_on, event.ends_on, event.evidence
            )
            return replace(s, exceptions=(*s.exceptions, recorded))
        case PlanDeclined():
            return replace(
                s,
                stage=Stage.PLAN_DECLINED,
                not_to_issue_on=event.decided_on,
                not_to_issue_letter_on=event.letter_sent_on,
                appeal_by=event.appeal_by,
            )
        case DraftIssued():
            return replace(
                s,
                stage=Stage.DRAFT_ISSUED,
                plan_id=event.plan_id,
                draft_issued_on=event.issued_on,
                comments_due_on=event.comments_due_on,
                sections=_sorted(event.sections),
            )
        case DraftCommented():
            return replace(
                s,
                comments_received_on=s.comments_received_on or event.received_on,
                comments=event.comments or s.comments,
                setting_requested=event.setting_requested or s.setting_requested,
            )
        case AssessmentCompleted():
            return replace(
                s,
                stage=Stage.COMPLETED,
                final_issued_on=event.completed_on,
                sections=_sorted(event.sections),
            )
    raise ValueError(f"{type(event).__name__} is not an event of an assessment")


def _sorted(sections: dict[PlanSection, str]) -> tuple[tuple[PlanSection, str], ...]:
    order = list(PlanSection)
    return tuple(sorted(sections.items(), key=lambda item: order.index(item[0])))


class AssessmentDecider:
    """An assessment for the kit: streams `assessment/<assessment id>`."""

    stream_prefix = "assessment"

    def initial_state(self) -> Assessment | None:
        return None

    def decide(
        self, state: Assessment | None, command: AssessmentCommand, now: datetime
    ) -> Sequence[Event]:
        return decide(state, command, now)

    def evolve(self, state: Assessment | None, event: Event) -> Assessment | None:
        return evolve(state, event)


ASSESSMENT = AssessmentDecider()
"""An assessment, as the kit runs it."""
