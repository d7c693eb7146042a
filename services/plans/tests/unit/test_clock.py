"""The statutory clock engine and its date arithmetic: every boundary, pure, no database."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oneplan_plans.domain.calendar import add_months, add_weeks, age_on, school_year
from oneplan_plans.domain.clock import (
    AdviceTimeline,
    AssessmentTimeline,
    Clock,
    ClockKind,
    ClockName,
    ClockStatus,
    ExceptionKind,
    RecordedException,
    amended_plan_due,
    appeal_deadline,
    assessment_clocks,
    next_review_due,
    phase_transfer_due,
    review_decision_due,
    status_of,
)

# A request received on a Sunday: day 1 is the day it arrived, whatever the weekday.
SUNDAY = date(2026, 3, 1)
DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 10, 31))


def clock(clocks: list[Clock], name: ClockName) -> Clock:
    [found] = [c for c in clocks if c.name is name]
    return found


# -- calendar arithmetic -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # common year: the month's last day
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2028, 2, 29), 12, date(2029, 2, 28)),  # 29 February + a year
        (date(2026, 12, 31), 2, date(2027, 2, 28)),  # across the year end
        (date(2027, 12, 31), 2, date(2028, 2, 29)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 5, 15), 12, date(2027, 5, 15)),
        (date(2026, 1, 31), -2, date(2025, 11, 30)),
    ],
)
def test_calendar_months_end_on_the_last_day_when_the_day_does_not_exist(
    start: date, months: int, expected: date
) -> None:
    assert add_months(start, months) == expected


@given(DATES, st.integers(min_value=0, max_value=24))
def test_a_calendar_month_keeps_the_day_or_ends_the_month(start: date, months: int) -> None:
    result = add_months(start, months)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
    if start.day <= 28:
        assert result.day == start.day
    else:
        assert result.day == start.day or (result + timedelta(days=1)).month != result.month


@given(DATES, DATES, st.integers(min_value=0, max_value=24))
def test_adding_months_keeps_the_order_of_dates(first: date, second: date, months: int) -> None:
    low, high = sorted((first, second))
    assert add_months(low, months) <= add_months(high, months)


@given(DATES, st.integers(min_value=0, max_value=52))
def test_weeks_land_on_the_same_weekday(start: date, weeks: int) -> None:
    result = add_weeks(start, weeks)
    assert result.weekday() == start.weekday()
    assert (result - start).days == 7 * weeks


def test_ages_and_year_groups_follow_the_31_august_rule() -> None:
    assert age_on(date(2012, 2, 29), date(2026, 2, 28)) == 13
    assert age_on(date(2012, 2, 29), date(2026, 3, 1)) == 14
    # Born 1 September 2012: the oldest of Year 9 in 2026-27; born 31 August 2013: youngest.
    assert school_year(date(2012, 9, 1), date(2026, 9, 1)) == 9
    assert school_year(date(2013, 8, 31), date(2026, 9, 1)) == 9
    assert school_year(date(2013, 9, 1), date(2026, 9, 1)) == 8
    assert school_year(date(2024, 1, 1), date(2026, 9, 1)) is None


# -- statuses ------------------------------------------------------------------------------


def test_a_deadline_is_on_track_then_due_soon_then_overdue() -> None:
    due = date(2026, 4, 12)
    assert (
        status_of(due, None, due - timedelta(days=15), ClockKind.DEADLINE) is ClockStatus.ON_TRACK
    )
    assert (
        status_of(due, None, due - timedelta(days=14), ClockKind.DEADLINE) is ClockStatus.DUE_SOON
    )
    assert status_of(due, None, due, ClockKind.DEADLINE) is ClockStatus.DUE_SOON
    assert status_of(due, None, due + timedelta(days=1), ClockKind.DEADLINE) is ClockStatus.OVERDUE
    assert status_of(due, due, due + timedelta(days=9), ClockKind.DEADLINE) is ClockStatus.MET
    late = due + timedelta(days=1)
    assert status_of(due, late, late, ClockKind.DEADLINE) is ClockStatus.MET_LATE


def test_a_familys_period_ends_rather_than_falls_overdue() -> None:
    end = date(2026, 6, 16)
    assert status_of(end, None, end, ClockKind.PERIOD) is ClockStatus.DUE_SOON
    assert status_of(end, None, end + timedelta(days=1), ClockKind.PERIOD) is ClockStatus.MET


# -- the assessment's clocks ---------------------------------------------------------------


def test_a_request_received_on_a_sunday_counts_from_that_sunday() -> None:
    clocks = assessment_clocks(AssessmentTimeline(received_on=SUNDAY), SUNDAY)
    assert [c.name for c in clocks] == [
        ClockName.DECISION_TO_ASSESS,
        ClockName.DRAFT_OR_DECISION_NOT_TO_ISSUE,
        ClockName.FINAL_PLAN,
    ]
    decision = clock(clocks, ClockName.DECISION_TO_ASSESS)
    assert decision.due_on == date(2026, 4, 12)  # week 6
    assert clock(clocks, ClockName.DRAFT_OR_DECISION_NOT_TO_ISSUE).due_on == date(2026, 6, 21)
    assert clock(clocks, ClockName.FINAL_PLAN).due_on == date(2026, 7, 19)  # week 20
    assert "Sunday 1 March 2026" in decision.explanation
    assert "Regulation 4(1)" in decision.explanation
    assert "Sunday 12 April 2026" in decision.explanation


@pytest.mark.parametrize(
    ("decided_on", "status", "late_by"),
    [(date(2026, 4, 12), ClockStatus.MET, 0), (date(2026, 4, 13), ClockStatus.MET_LATE, 1)],
)
def test_the_week_6_decision_is_on_time_on_its_last_day(
    decided_on: date, status: ClockStatus, late_by: int
) -> None:
    timeline = AssessmentTimeline(received_on=SUNDAY, decided_on=decided_on, agreed=True)
    decision = clock(assessment_clocks(timeline, date(2026, 5, 1)), ClockName.DECISION_TO_ASSESS)
    assert (decision.status, decision.late_by_days) == (status, late_by)


def test_weeks_elapsed_and_days_remaining_are_counted_on_the_day_asked() -> None:
    final = clock(
        assessment_clocks(AssessmentTimeline(SUNDAY), date(2026, 4, 13)), ClockName.FINAL_PLAN
    )
    assert (final.weeks_elapsed, final.days_remaining) == (6, 97)
    assert final.status is ClockStatus.ON_TRACK
    overdue = clock(
        assessment_clocks(AssessmentTimeline(SUNDAY), date(2026, 7, 20)), ClockName.FINAL_PLAN
    )
    assert (overdue.status, overdue.days_remaining, overdue.late_by_days) == (
        ClockStatus.OVERDUE,
        -1,
        1,
    )
    assert "1 day(s) overdue" in overdue.explanation


def advice(
    requested_on: date, received_on: date | None = None, agency: str = "health"
) -> AdviceTimeline:
    kind = "education" if agency == "school" else agency
    return AdviceTimeline(uuid4(), agency, kind, requested_on, received_on)


def test_each_advice_request_is_due_6_weeks_after_it_was_asked() -> None:
    asked = date(2026, 3, 20)
    late = advice(asked, received_on=date(2026, 5, 8))  # 1 May is the 6th week
    timeline = AssessmentTimeline(SUNDAY, date(2026, 3, 19), True, advice=[late, advice(asked)])
    clocks = [
        c for c in assessment_clocks(timeline, date(2026, 5, 8)) if c.name is ClockName.ADVICE
    ]
    assert [c.due_on for c in clocks] == [date(2026, 5, 1)] * 2
    assert (clocks[0].status, clocks[0].late_by_days) == (ClockStatus.MET_LATE, 7)
    assert (clocks[1].status, clocks[1].agency) == (ClockStatus.OVERDUE, "health")
    assert "Regulation 8(1)" in clocks[0].explanation
    assert "waiting list is not an exception" in clocks[0].explanation


def test_the_comment_period_is_15_days_from_the_draft() -> None:
    timeline = AssessmentTimeline(SUNDAY, date(2026, 3, 19), True, draft_issued_on=date(2026, 6, 1))
    comments = clock(assessment_clocks(timeline, date(2026, 6, 2)), ClockName.COMMENT_PERIOD)
    assert (comments.kind, comments.due_on) == (ClockKind.PERIOD, date(2026, 6, 16))
    assert (
        clock(
            assessment_clocks(timeline, date(2026, 6, 2)), ClockName.DRAFT_OR_DECISION_NOT_TO_ISSUE
        ).status
        is ClockStatus.MET
    )
    assert (
        clock(assessment_clocks(timeline, date(2026, 6, 17)), ClockName.COMMENT_PERIOD).status
        is ClockStatus.MET
    )


def exception(kind: ExceptionKind, starts_on: date, ends_on: date) -> RecordedException:
    return RecordedException(uuid4(), kind, starts_on, ends_on, "Letter on file.")


def test_exceptional_circumstances_move_the_date_and_both_statuses_are_reported() -> None:
    illness = exception(
        ExceptionKind.EXCEPTIONAL_PERSONAL_CIRCUMSTANCES, date(2026, 5, 1), date(2026, 5, 10)
    )
    timeline = AssessmentTimeline(
        SUNDAY, date(2026, 3, 20), True, exceptions=[illness], final_issued_on=date(2026, 7, 25)
    )
    final = clock(assessment_clocks(timeline, date(2026, 7, 25)), ClockName.FINAL_PLAN)
    assert final.statutory_due_on == date(2026, 7, 19)
    assert final.due_on == date(2026, 7, 29)  # 10 days of the exception inside the 20 weeks
    assert final.status is ClockStatus.MET
    assert final.status_without_exceptions is ClockStatus.MET_LATE
    [applied] = final.exceptions
    assert (applied.applies, applied.days) == (True, 10)
    assert "Regulation 13(3)(c)" in final.explanation


def test_an_exception_outside_a_period_does_not_change_it() -> None:
    later = exception(ExceptionKind.ABSENCE_FROM_AREA, date(2026, 5, 1), date(2026, 6, 1))
    timeline = AssessmentTimeline(SUNDAY, date(2026, 3, 20), True, exceptions=[later])
    decision = clock(assessment_clocks(timeline, date(2026, 5, 1)), ClockName.DECISION_TO_ASSESS)
    assert decision.due_on == decision.statutory_due_on
    assert decision.exceptions[0].applies is False
    final = clock(assessment_clocks(timeline, date(2026, 5, 1)), ClockName.FINAL_PLAN)
    assert final.due_on == date(2026, 7, 19) + timedelta(days=32)


def test_a_closure_counts_only_around_advice_asked_of_the_setting() -> None:
    summer = exception(ExceptionKind.SETTING_CLOSURE, date(2026, 7, 18), date(2026, 9, 2))
    health_only = AssessmentTimeline(
        SUNDAY, date(2026, 3, 20), True, advice=[advice(date(2026, 7, 14))], exceptions=[summer]
    )
    final = clock(assessment_clocks(health_only, date(2026, 7, 20)), ClockName.FINAL_PLAN)
    assert (final.due_on, final.exceptions[0].applies) == (date(2026, 7, 19), False)
    assert "does not apply" in final.explanation
    # Asked of the school from one week before it closed: the closure counts.
    school = AssessmentTimeline(
        SUNDAY,
        date(2026, 3, 20),
        True,
        advice=[advice(date(2026, 7, 11), agency="school")],
        exceptions=[summer],
    )
    final = clock(assessment_clocks(school, date(2026, 7, 20)), ClockName.FINAL_PLAN)
    assert final.exceptions[0].applies is True
    assert final.due_on == date(2026, 7, 19) + timedelta(days=2)  # 18 and 19 July
    too_early = AssessmentTimeline(
        SUNDAY,
        date(2026, 3, 20),
        True,
        advice=[advice(date(2026, 7, 10), agency="school")],
        exceptions=[summer],
    )
    assert (
        clock(assessment_clocks(too_early, date(2026, 7, 20)), ClockName.FINAL_PLAN)
        .exceptions[0]
        .applies
        is False
    )


def test_a_decline_leaves_only_the_decision_and_the_familys_appeal_period() -> None:
    timeline = AssessmentTimeline(
        SUNDAY, date(2026, 4, 1), False, decision_letter_on=date(2026, 4, 2)
    )
    clocks = assessment_clocks(timeline, date(2026, 4, 3))
    assert [c.name for c in clocks] == [
        ClockName.DECISION_TO_ASSESS,
        ClockName.MEDIATION_AND_APPEAL,
    ]
    appeal = clocks[1]
    assert (appeal.kind, appeal.due_on) == (ClockKind.PERIOD, date(2026, 6, 2))
    assert "2 months from the decision letter" in appeal.explanation


def test_a_decision_not_to_issue_ends_the_twenty_week_clock() -> None:
    timeline = AssessmentTimeline(
        SUNDAY,
        date(2026, 3, 20),
        True,
        not_to_issue_on=date(2026, 6, 10),
        not_to_issue_letter_on=date(2026, 6, 11),
    )
    names = [c.name for c in assessment_clocks(timeline, date(2026, 6, 12))]
    assert ClockName.FINAL_PLAN not in names
    assert names[-1] is ClockName.MEDIATION_AND_APPEAL


@pytest.mark.parametrize(
    ("letter", "certificate", "expected"),
    [
        (date(2026, 4, 2), None, date(2026, 6, 2)),
        (date(2026, 4, 2), date(2026, 5, 20), date(2026, 6, 20)),  # certificate later
        (date(2026, 4, 2), date(2026, 4, 20), date(2026, 6, 2)),  # the letter's date is later
        (date(2026, 12, 31), None, date(2027, 2, 28)),
        (date(2027, 12, 31), None, date(2028, 2, 29)),
        (date(2026, 1, 1), date(2026, 1, 31), date(2026, 3, 1)),
        (date(2026, 1, 1), date(2026, 2, 28), date(2026, 3, 28)),
    ],
)
def test_the_appeal_deadline_is_the_later_of_two_months_and_one_month(
    letter: date, certificate: date | None, expected: date
) -> None:
    assert appeal_deadline(letter, certificate)[0] == expected


# -- the plan's clocks ---------------------------------------------------------------------


def test_reviews_are_due_within_12_months_and_every_6_under_age_5() -> None:
    assert next_review_due(date(2026, 7, 1), date(2012, 1, 1))[0] == date(2027, 7, 1)
    assert next_review_due(date(2028, 2, 29), None)[0] == date(2029, 2, 28)
    under_five, text = next_review_due(date(2026, 7, 1), date(2022, 9, 1))
    assert under_five == date(2027, 1, 1)
    assert "3 to 6 months" in text
    # Five on the day of the review: the 12-month rule.
    assert next_review_due(date(2026, 7, 1), date(2021, 7, 1))[0] == date(2027, 7, 1)


def test_review_decisions_amendments_and_phase_transfers() -> None:
    assert review_decision_due(date(2026, 11, 3))[0] == date(2026, 12, 1)  # 4 weeks
    assert amended_plan_due(date(2026, 12, 1))[0] == date(2027, 1, 26)  # 8 weeks
    assert phase_transfer_due(2027, into_post16=False)[0] == date(2027, 2, 15)
    assert phase_transfer_due(2027, into_post16=True)[0] == date(2027, 3, 31)


def test_ids_are_kept_on_advice_clocks() -> None:
    item = AdviceTimeline(UUID(int=7), "social_care", "social_care", date(2026, 3, 20))
    timeline = AssessmentTimeline(SUNDAY, date(2026, 3, 19), True, advice=[item])
    [advice_clock] = [c for c in assessment_clocks(timeline, SUNDAY) if c.name is ClockName.ADVICE]
    assert (advice_clock.advice_request_id, advice_clock.agency) == (UUID(int=7), "social_care")
