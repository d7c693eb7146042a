"""The statutory clock engine: every deadline of an EHC needs assessment and plan, computed
from the law, with an explanation a family can read. Pure: "today" is an argument.

The authority is the Special Educational Needs and Disability Regulations 2014 (SI 2014/1530,
"the Regulations") and the SEND Code of Practice 0-25 (2015). Every assessment clock counts
from the day the local authority received the request (day 1 of week 1): "within 6 weeks of
receiving the request" ends on the same weekday 6 weeks later (received + 42 days).

Only the lawful exceptions change a deadline: a school or early-years setting closed for at
least 4 weeks around an advice request to it, exceptional personal circumstances of the child
or parent, the child or parent away from the area for at least 4 continuous weeks
(Regulations 5(4), 8(2), 10(4) and 13(3)). The law sets no new date when one applies; OnePlan
shows the law's date and a date adjusted by the days the exception lasted inside the period,
and every status is reported both with and without exceptions. A waiting list, staff absence
or any other delay of the authority's own is never an exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from uuid import UUID

from oneplan_plans.domain.calendar import add_days, add_months, add_weeks, age_on

__all__ = [
    "DUE_SOON_DAYS",
    "MIN_CLOSURE_OR_ABSENCE_DAYS",
    "AdviceTimeline",
    "AppliedException",
    "AssessmentTimeline",
    "Clock",
    "ClockKind",
    "ClockName",
    "ClockStatus",
    "ExceptionKind",
    "RecordedException",
    "amended_plan_due",
    "appeal_deadline",
    "assessment_clocks",
    "describe_outcome",
    "long_date",
    "next_review_due",
    "phase_transfer_due",
    "review_decision_due",
    "status_of",
]

DUE_SOON_DAYS = 14
"""A deadline not yet met is `due_soon` from this many days before it."""

MIN_CLOSURE_OR_ABSENCE_DAYS = 28
"""A closure or an absence from the area is an exception only when it lasts 4 weeks or more."""

_REGULATIONS = "the SEND Regulations 2014"


class ClockName(StrEnum):
    """The statutory clocks of an assessment and a plan."""

    DECISION_TO_ASSESS = "decision_to_assess"
    ADVICE = "advice"
    DRAFT_OR_DECISION_NOT_TO_ISSUE = "draft_or_decision_not_to_issue"
    COMMENT_PERIOD = "comment_period"
    FINAL_PLAN = "final_plan"
    MEDIATION_AND_APPEAL = "mediation_and_appeal"


class ClockKind(StrEnum):
    """`deadline`: the authority (or an agency) must act by the date. `period`: the family has
    until the date (to comment, to go to mediation or appeal)."""

    DEADLINE = "deadline"
    PERIOD = "period"


class ClockStatus(StrEnum):
    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    MET = "met"
    MET_LATE = "met_late"


class ExceptionKind(StrEnum):
    """The lawful exceptions to the assessment time limits, and nothing else."""

    SETTING_CLOSURE = "setting_closure"
    EXCEPTIONAL_PERSONAL_CIRCUMSTANCES = "exceptional_personal_circumstances"
    ABSENCE_FROM_AREA = "absence_from_area"


_EXCEPTION_TEXT = {
    ExceptionKind.SETTING_CLOSURE: "the school or early-years setting asked for advice was "
    "closed for 4 weeks or more",
    ExceptionKind.EXCEPTIONAL_PERSONAL_CIRCUMSTANCES: "exceptional personal circumstances "
    "affected the child or the parent",
    ExceptionKind.ABSENCE_FROM_AREA: "the child or the parent was away from the area for 4 "
    "weeks or more",
}

# Which paragraph of which regulation lists each exception, per clock: (closure, personal
# circumstances, absence from the area).
_EXCEPTION_PARAGRAPHS: dict[ClockName, tuple[str, tuple[str, str, str]]] = {
    ClockName.DECISION_TO_ASSESS: ("5(4)", ("a", "b", "c")),
    ClockName.ADVICE: ("8(2)", ("a", "b", "c")),
    ClockName.DRAFT_OR_DECISION_NOT_TO_ISSUE: ("10(4)", ("a)-(b", "c", "d")),
    ClockName.FINAL_PLAN: ("13(3)", ("a)-(b", "c", "d")),
}


@dataclass(frozen=True, slots=True)
class RecordedException:
    """A lawful exception the authority recorded, with its period and evidence."""

    exception_id: UUID
    kind: ExceptionKind
    starts_on: date
    ends_on: date
    evidence: str


@dataclass(frozen=True, slots=True)
class AdviceTimeline:
    """One advice request: when it was asked for and when (if) it arrived."""

    advice_request_id: UUID
    agency: str
    advice_type: str
    requested_on: date
    received_on: date | None = None

    @property
    def to_a_setting(self) -> bool:
        """Advice asked of a school or early-years setting (what a closure can delay)."""
        return self.agency == "school" or self.advice_type == "education"


@dataclass(frozen=True, slots=True)
class AssessmentTimeline:
    """The dates of an assessment the clocks depend on (the decider's state holds one)."""

    received_on: date
    decided_on: date | None = None
    agreed: bool | None = None
    decision_letter_on: date | None = None
    advice: Sequence[AdviceTimeline] = ()
    exceptions: Sequence[RecordedException] = ()
    not_to_issue_on: date | None = None
    not_to_issue_letter_on: date | None = None
    mediation_certificate_on: date | None = None
    draft_issued_on: date | None = None
    comments_received_on: date | None = None
    final_issued_on: date | None = None


@dataclass(frozen=True, slots=True)
class AppliedException:
    """An exception as one clock sees it: whether it applies, and for how many days."""

    exception_id: UUID
    kind: ExceptionKind
    applies: bool
    days: int
    explanation: str


@dataclass(frozen=True, slots=True)
class Clock:
    """One statutory deadline or period, its status on `today`, and how it was computed."""

    name: ClockName
    kind: ClockKind
    label: str
    regulation: str
    starts_on: date
    statutory_due_on: date
    due_on: date
    met_on: date | None
    status: ClockStatus
    status_without_exceptions: ClockStatus
    weeks_elapsed: int
    days_remaining: int
    late_by_days: int
    how: str
    outcome: str
    exceptions: tuple[AppliedException, ...] = ()
    advice_request_id: UUID | None = None
    agency: str | None = None

    @property
    def explanation(self) -> str:
        """How the date was computed, then where things stand on the day asked about."""
        return f"{self.how} {self.outcome}"


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


def long_date(day: date) -> str:
    """`Monday 2 March 2026`: how a date reads in an explanation (in English, whatever the
    process's locale)."""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def status_of(due_on: date, met_on: date | None, today: date, kind: ClockKind) -> ClockStatus:
    """The status of a clock due on `due_on`, met on `met_on` (None: not yet), on `today`."""
    if kind is ClockKind.PERIOD:
        # A family's period is over once used or once its last day has passed.
        if met_on is not None or today > due_on:
            return ClockStatus.MET
        return (
            ClockStatus.DUE_SOON if (due_on - today).days <= DUE_SOON_DAYS else ClockStatus.ON_TRACK
        )
    if met_on is not None:
        return ClockStatus.MET if met_on <= due_on else ClockStatus.MET_LATE
    if today > due_on:
        return ClockStatus.OVERDUE
    if (due_on - today).days <= DUE_SOON_DAYS:
        return ClockStatus.DUE_SOON
    return ClockStatus.ON_TRACK


# -- exceptions ----------------------------------------------------------------------------


_KIND_INDEX = {kind: index for index, kind in enumerate(ExceptionKind)}


def _paragraph(clock: ClockName, kind: ExceptionKind) -> str:
    regulation, letters = _EXCEPTION_PARAGRAPHS[clock]
    return f"Regulation {regulation}({letters[_KIND_INDEX[kind]]})"


def _closure_covers(exception: RecordedException, advice: Sequence[AdviceTimeline]) -> bool:
    """Regulation 10(4)(a): advice asked of the setting in the period from one week before
    it closed to one week before it re-opened (the day after the closure's last day)."""
    window_start = add_days(exception.starts_on, -7)
    window_end = add_days(exception.ends_on, 1 - 7)
    return any(
        item.to_a_setting and window_start <= item.requested_on <= window_end for item in advice
    )


def _apply(
    clock: ClockName,
    start: date,
    statutory_due: date,
    exceptions: Sequence[RecordedException],
    advice: Sequence[AdviceTimeline],
) -> tuple[AppliedException, ...]:
    applied = []
    for exception in exceptions:
        reference = _paragraph(clock, exception.kind)
        period = f"{long_date(exception.starts_on)} to {long_date(exception.ends_on)}"
        overlap_start, overlap_end = (
            max(start, exception.starts_on),
            min(statutory_due, exception.ends_on),
        )
        days = max(0, (overlap_end - overlap_start).days + 1)
        reason = _EXCEPTION_TEXT[exception.kind]
        if exception.kind is ExceptionKind.SETTING_CLOSURE and not _closure_covers(
            exception, advice
        ):
            applied.append(
                AppliedException(
                    exception.exception_id,
                    exception.kind,
                    False,
                    0,
                    f"{reference} does not apply: no advice was asked of a school or setting from "
                    "one week before it closed to one week before it re-opened.",
                )
            )
        elif days == 0:
            applied.append(
                AppliedException(
                    exception.exception_id,
                    exception.kind,
                    False,
                    0,
                    f"{reference} does not change this date: {reason} ({period}), outside this "
                    "period.",
                )
            )
        else:
            applied.append(
                AppliedException(
                    exception.exception_id,
                    exception.kind,
                    True,
                    days,
                    f"{reference} applies: {reason} ({period}), {days} day(s) of this period.",
                )
            )
    return tuple(applied)


# -- one clock -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    name: ClockName
    kind: ClockKind
    label: str
    regulation: str
    statement: str  # "it must decide whether to assess within 6 weeks of receiving the request"


def _clock(
    rule: _Rule,
    start: date,
    statutory_due: date,
    met_on: date | None,
    today: date,
    exceptions: tuple[AppliedException, ...] = (),
    *,
    start_text: str,
    met_text: str,
    advice_request_id: UUID | None = None,
    agency: str | None = None,
) -> Clock:
    extension = sum(item.days for item in exceptions if item.applies)
    due = add_days(statutory_due, extension)
    status = status_of(due, met_on, today, rule.kind)
    bare = status_of(statutory_due, met_on, today, rule.kind)
    until = met_on if met_on is not None else today
    late_by = max(0, ((met_on or today) - due).days) if rule.kind is ClockKind.DEADLINE else 0
    parts = [
        f"{start_text} {long_date(start)}.",
        f"{rule.regulation} of {_REGULATIONS}: {rule.statement}, so by {long_date(statutory_due)}.",
    ]
    for item in exceptions:
        parts.append(item.explanation)
    if extension:
        parts.append(
            f"With the exception(s) OnePlan counts the date as {long_date(due)} ({extension} "
            "day(s) later); the law's date is still shown, and the measures report both."
        )
    return Clock(
        name=rule.name,
        kind=rule.kind,
        label=rule.label,
        regulation=f"{rule.regulation}, {_REGULATIONS}",
        starts_on=start,
        statutory_due_on=statutory_due,
        due_on=due,
        met_on=met_on,
        status=status,
        status_without_exceptions=bare,
        weeks_elapsed=max(0, (until - start).days) // 7,
        days_remaining=(due - today).days,
        late_by_days=late_by,
        how=" ".join(parts),
        outcome=describe_outcome(rule.kind, due, met_on, today, met_text),
        exceptions=exceptions,
        advice_request_id=advice_request_id,
        agency=agency,
    )


def describe_outcome(
    kind: ClockKind, due: date, met_on: date | None, today: date, met_text: str = "Done"
) -> str:
    """Where a clock stands on `today`, in a sentence (met, how late, or how long is left)."""
    if kind is ClockKind.PERIOD:
        if met_on is not None:
            return f"{met_text} on {long_date(met_on)}."
        if today > due:
            return "The period has ended."
        return f"{(due - today).days} day(s) left."
    if met_on is not None:
        late = (met_on - due).days
        when = f"{met_text} on {long_date(met_on)}"
        return f"{when}: on time." if late <= 0 else f"{when}: {late} day(s) late."
    if today > due:
        return f"Not yet done: {(today - due).days} day(s) overdue."
    return f"Not yet done: {(due - today).days} day(s) left."


_DECISION = _Rule(
    ClockName.DECISION_TO_ASSESS,
    ClockKind.DEADLINE,
    "Decision whether to carry out an EHC needs assessment",
    "Regulation 4(1)",
    "the authority must tell the family whether it will assess within 6 weeks of receiving "
    "the request",
)
_ADVICE = _Rule(
    ClockName.ADVICE,
    ClockKind.DEADLINE,
    "Advice for the assessment",
    "Regulation 8(1)",
    "advice must be given within 6 weeks of the authority's request for it (a waiting list "
    "is not an exception)",
)
_SIXTEEN = _Rule(
    ClockName.DRAFT_OR_DECISION_NOT_TO_ISSUE,
    ClockKind.DEADLINE,
    "Draft plan, or decision not to issue a plan",
    "Regulation 10(1)",
    "a decision not to issue a plan must be told to the family within 16 weeks of the request; "
    "a draft plan is due by then too, to leave the family 15 days to comment before week 20",
)
_COMMENTS = _Rule(
    ClockName.COMMENT_PERIOD,
    ClockKind.PERIOD,
    "Family's comments on the draft plan and the setting they ask for",
    "Regulation 13(1)",
    "the family has at least 15 days from the draft plan to comment and to ask for a "
    "particular school or setting",
)
_FINAL = _Rule(
    ClockName.FINAL_PLAN,
    ClockKind.DEADLINE,
    "Final EHC plan",
    "Regulation 13(2)",
    "the final plan must be issued within 20 weeks of the request",
)
_APPEAL = _Rule(
    ClockName.MEDIATION_AND_APPEAL,
    ClockKind.PERIOD,
    "Family's right to mediation and to appeal to the Tribunal",
    "Regulation 33 and the Tribunal Procedure Rules, rule 20",
    "the family may appeal within 2 months of the decision letter, or 1 month of a mediation "
    "certificate, whichever is later (mediation must be considered first)",
)


def appeal_deadline(letter_on: date, certificate_on: date | None = None) -> tuple[date, str]:
    """The last day to appeal a decision (not to assess, not to issue, to cease): 2 months
    from the letter, or 1 month from a mediation certificate, whichever is later."""
    from_letter = add_months(letter_on, 2)
    text = (
        f"2 months from the decision letter of {long_date(letter_on)} is {long_date(from_letter)}"
    )
    if certificate_on is None:
        return from_letter, text + "."
    from_certificate = add_months(certificate_on, 1)
    later = max(from_letter, from_certificate)
    return later, (
        f"{text}; 1 month from the mediation certificate of {long_date(certificate_on)} is "
        f"{long_date(from_certificate)}; the later date counts: {long_date(later)}."
    )


def _appeal_clock(letter_on: date, certificate_on: date | None, today: date) -> Clock:
    due, text = appeal_deadline(letter_on, certificate_on)
    clock = _clock(
        _APPEAL,
        letter_on,
        due,
        None,
        today,
        start_text="The decision letter was sent on",
        met_text="",
    )
    return replace(clock, how=f"{clock.how} {text}")


def assessment_clocks(timeline: AssessmentTimeline, today: date) -> list[Clock]:
    """Every clock of an assessment on `today`, in the order of the process."""
    received, exceptions, advice = timeline.received_on, timeline.exceptions, timeline.advice
    start_text = "The authority received the request (day 1) on"

    def applied(name: ClockName, start: date, due: date) -> tuple[AppliedException, ...]:
        return _apply(name, start, due, exceptions, advice)

    decision_due = add_weeks(received, 6)
    clocks = [
        _clock(
            _DECISION,
            received,
            decision_due,
            timeline.decided_on,
            today,
            applied(ClockName.DECISION_TO_ASSESS, received, decision_due),
            start_text=start_text,
            met_text="Decided",
        )
    ]
    if timeline.agreed is False:
        assert timeline.decision_letter_on is not None
        clocks.append(
            _appeal_clock(timeline.decision_letter_on, timeline.mediation_certificate_on, today)
        )
        return clocks
    for item in advice:
        due = add_weeks(item.requested_on, 6)
        own = _apply(ClockName.ADVICE, item.requested_on, due, exceptions, [item])
        clocks.append(
            _clock(
                _ADVICE,
                item.requested_on,
                due,
                item.received_on,
                today,
                own,
                start_text=f"The authority asked {item.agency} for {item.advice_type} advice on",
                met_text="Received",
                advice_request_id=item.advice_request_id,
                agency=item.agency,
            )
        )
    sixteen = add_weeks(received, 16)
    met16 = timeline.draft_issued_on or timeline.not_to_issue_on
    if timeline.draft_issued_on and timeline.not_to_issue_on:
        met16 = min(timeline.draft_issued_on, timeline.not_to_issue_on)
    clocks.append(
        _clock(
            _SIXTEEN,
            received,
            sixteen,
            met16,
            today,
            applied(ClockName.DRAFT_OR_DECISION_NOT_TO_ISSUE, received, sixteen),
            start_text=start_text,
            met_text="Decided not to issue" if timeline.not_to_issue_on else "Draft issued",
        )
    )
    if timeline.not_to_issue_on is not None:
        letter = timeline.not_to_issue_letter_on or timeline.not_to_issue_on
        clocks.append(_appeal_clock(letter, timeline.mediation_certificate_on, today))
        return clocks
    if timeline.draft_issued_on is not None:
        comments_end = add_days(timeline.draft_issued_on, 15)
        clocks.append(
            _clock(
                _COMMENTS,
                timeline.draft_issued_on,
                comments_end,
                timeline.comments_received_on,
                today,
                start_text="The draft plan was sent to the family on",
                met_text="The family's comments were received",
            )
        )
    twenty = add_weeks(received, 20)
    clocks.append(
        _clock(
            _FINAL,
            received,
            twenty,
            timeline.final_issued_on,
            today,
            applied(ClockName.FINAL_PLAN, received, twenty),
            start_text=start_text,
            met_text="Issued",
        )
    )
    return clocks


# -- the plan's clocks ---------------------------------------------------------------------


def next_review_due(last_on: date, date_of_birth: date | None) -> tuple[date, str]:
    """When the next review is due after the plan was made or last reviewed on `last_on`:
    within 12 months (Regulation 2 and section 44 of the Children and Families Act 2014);
    for a child under 5, every 3 to 6 months (Code of Practice 9.178): at most 6 months."""
    if date_of_birth is not None and age_on(date_of_birth, last_on) < 5:
        due = add_months(last_on, 6)
        return due, (
            f"The child was under 5 on {long_date(last_on)}: the Code of Practice (9.178) asks "
            f"for a review every 3 to 6 months, so by {long_date(due)} at the latest."
        )
    due = add_months(last_on, 12)
    return due, (
        f"Section 44 of the Children and Families Act 2014: a plan is reviewed within 12 "
        f"months of {long_date(last_on)}, so by {long_date(due)}."
    )


def review_decision_due(meeting_on: date) -> tuple[date, str]:
    """The authority decides whether to maintain, amend or cease within 4 weeks of the review
    meeting (Regulation 20(10))."""
    due = add_weeks(meeting_on, 4)
    return due, (
        f"Regulation 20(10) of {_REGULATIONS}: the authority decides within 4 weeks of the "
        f"review meeting of {long_date(meeting_on)}, so by {long_date(due)}."
    )


def amended_plan_due(notice_on: date) -> tuple[date, str]:
    """An amended final plan within 8 weeks of the amendment notice (Regulation 22(3))."""
    due = add_weeks(notice_on, 8)
    return due, (
        f"Regulation 22(3) of {_REGULATIONS}: the amended plan is issued within 8 weeks of the "
        f"amendment notice of {long_date(notice_on)}, so by {long_date(due)}."
    )


def phase_transfer_due(transfer_year: int, *, into_post16: bool) -> tuple[date, str]:
    """A plan is reviewed and amended for a phase transfer by 15 February of the year of the
    transfer (school phases), or 31 March (into post-16) (Regulation 18)."""
    if into_post16:
        due = date(transfer_year, 3, 31)
        return due, f"Regulation 18(1)(b): a transfer into post-16 is decided by {long_date(due)}."
    due = date(transfer_year, 2, 15)
    return (
        due,
        f"Regulation 18(1)(a): a transfer between school phases is decided by {long_date(due)}.",
    )
