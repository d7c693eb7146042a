"""The graduated response without a database: matrix versions, the provision checks (judged by
the matrix in force on the cycle's date), the SEN support plan decider and its contributions,
tracked EHC outcomes and the plan types vocabulary."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from importlib.resources import files
from typing import Any
from uuid import UUID, uuid4, uuid5

import pytest

from oneplan_events.catalogue import (
    ContributionRevised,
    ContributionSubmitted,
    ContributionWithdrawn,
    Event,
)
from oneplan_events.vocabulary import PlanSection
from oneplan_plans.domain import ehc_outcomes, provision_matrix, support_plan
from oneplan_plans.domain.errors import NotPermitted, NotRecorded, RulesBroken, StepOutOfOrder
from oneplan_plans.domain.plan_types import parse_plan_types
from oneplan_plans.domain.provision_checks import GapKind, check_cycle
from oneplan_plans.domain.provision_matrix import (
    Matrix,
    PublishMatrixVersion,
    parse_matrix_csv,
    parse_matrix_yaml,
)
from oneplan_plans.domain.support_commands import (
    CloseSupportPlan,
    LineIn,
    NeedIn,
    OpenSupportPlan,
    OutcomeIn,
    PlanProvision,
    ProgressIn,
    RecordDelivery,
    RecordEhcOutcomes,
    RecordEhcProgress,
    ReviewCycle,
    StartCycle,
)
from oneplan_plans.domain.support_plan import SupportPlan, history
from oneplan_plans.domain.support_vocabulary import (
    AreaOfNeed,
    CloseReason,
    ProgressStatus,
    ReviewDecision,
    Tier,
)
from oneplan_plans.events import (
    MatrixEntry,
    OutcomeProgressRecorded,
    SupportCycleStarted,
    SupportPlanClosed,
    SupportPlanReviewed,
    SupportSetting,
)

NOW = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)  # "today" is 1 September 2026
PLAN_ID = UUID("3c8e2a1b-9d4f-4e6a-8b7c-5d2e1f0a9b8c")
CHILD = UUID("0b6f3c1e-8d55-4a57-9d55-1f3f7b1f0c11")
NEED = UUID("11111111-1111-4111-8111-111111111111")
OUTCOME = UUID("22222222-2222-4222-8222-222222222222")
LINE = UUID("33333333-3333-4333-8333-333333333333")
SCHOOL = SupportSetting(name="Example Primary School", urn="100001")
CL = AreaOfNeed.COGNITION_AND_LEARNING


def entry(entry_id: str, tier: Tier, area: AreaOfNeed = CL) -> MatrixEntry:
    return MatrixEntry(
        entry_id=entry_id,
        area=area,
        tier=tier,
        description=f"Provision {entry_id}",
        typical_provider="Teaching assistant",
        frequency="Weekly",
    )


def published(*versions: tuple[date, Sequence[MatrixEntry]]) -> Matrix:
    """A matrix with these versions, as the decider publishes them (the first on its date)."""
    matrix = Matrix()
    for effective_from, entries in versions:
        now = NOW if matrix.versions else datetime(2024, 1, 1, tzinfo=UTC)
        command = PublishMatrixVersion(effective_from, "Matrix", tuple(entries), "manager-1")
        for event in provision_matrix.decide(matrix, command, now):
            matrix = provision_matrix.evolve(matrix, event)
    return matrix


V1 = (date(2025, 9, 1), [entry("CL-U1", Tier.UNIVERSAL), entry("CL-T1", Tier.TARGETED)])


def run(state: SupportPlan | None, command: Any, now: datetime = NOW) -> tuple[list[Event], Any]:
    events = list(support_plan.decide(state, command, now))
    for event in events:
        state = support_plan.evolve(state, event)
    return events, state


def opened(opened_on: date = date(2026, 1, 5)) -> SupportPlan:
    _, plan = run(
        None,
        OpenSupportPlan(PLAN_ID, CHILD, "sen_support", SCHOOL, opened_on, "senco-1", "school"),
    )
    return plan


def cycle(
    matrix: Matrix,
    starts_on: date = date(2026, 1, 12),
    lines: Sequence[LineIn] | None = None,
    expected: Tier = Tier.TARGETED,
) -> StartCycle:
    given = (
        [LineIn(LINE, "CL-T1", "20 minutes", starts_on, outcome_ids=(OUTCOME,))]
        if lines is None
        else lines
    )
    return StartCycle(
        starts_on,
        (NeedIn(NEED, CL, "Reading well below age.", expected),),
        (OutcomeIn(OUTCOME, "Reads a page on her own.", (NEED,)),),
        tuple(given),
        matrix,
        "senco-1",
        "school",
        child_views="I want to read comics.",
        child_views_helped_by="Her teaching assistant",
    )


def review(decision: ReviewDecision = ReviewDecision.CONTINUE, **kw: Any) -> ReviewCycle:
    progress = kw.pop(
        "progress", (ProgressIn(OUTCOME, ProgressStatus.PROGRESSING, "Reading age up 6 months."),)
    )
    return ReviewCycle(kw.pop("on", date(2026, 3, 30)), progress, decision, "senco-1", "school")


def broken_fields(error: pytest.ExceptionInfo[RulesBroken]) -> list[str]:
    return [b.field for b in error.value.broken]


# -- the matrix ----------------------------------------------------------------------------


def test_the_version_in_force_is_the_latest_effective_on_the_day() -> None:
    matrix = published(V1, (date(2026, 10, 1), [entry("CL-T9", Tier.TARGETED)]))
    assert matrix.in_force(date(2025, 8, 31)) is None
    assert matrix.in_force(date(2025, 9, 1)).version == 1  # type: ignore[union-attr]
    assert matrix.in_force(date(2026, 9, 30)).version == 1  # type: ignore[union-attr]
    assert matrix.in_force(date(2026, 10, 1)).version == 2  # type: ignore[union-attr]


def test_a_later_version_takes_effect_after_today_and_after_the_latest() -> None:
    matrix = published(V1)
    for effective_from in (date(2026, 9, 1), date(2025, 8, 1)):
        with pytest.raises(RulesBroken) as error:
            provision_matrix.decide(
                matrix,
                PublishMatrixVersion(effective_from, "M", (entry("X", Tier.UNIVERSAL),), "m"),
                NOW,
            )
        assert broken_fields(error) == ["effective_from"] * len(error.value.broken)
    repeated = (entry("X", Tier.UNIVERSAL), entry("X", Tier.TARGETED))
    with pytest.raises(RulesBroken) as error:
        provision_matrix.decide(
            matrix, PublishMatrixVersion(date(2026, 10, 1), "M", repeated, "m"), NOW
        )
    assert broken_fields(error) == ["entries.1.entry_id"]


def test_the_shipped_matrix_covers_every_area_and_tier() -> None:
    text = files("oneplan_plans").joinpath("data/provision_matrix.yaml").read_text()
    entries = parse_matrix_yaml(text)
    assert {(e.area, e.tier) for e in entries} == {(a, t) for a in AreaOfNeed for t in Tier}
    by_id = {e.entry_id: e for e in entries}
    assert by_id["CL-S2"].frequency == "Once, with a follow-up"


def test_a_csv_matrix_loads_and_its_faults_are_named_by_line() -> None:
    header = "entry_id,area,tier,description,typical_provider,frequency\n"
    good = "CL-T1,cognition_and_learning,targeted,Literacy group,Teaching assistant,Weekly\n"
    assert [e.entry_id for e in parse_matrix_csv(header + good)] == ["CL-T1"]
    with pytest.raises(RulesBroken) as error:
        parse_matrix_csv(header + good + "CL-X,cognition_and_learning,urgent,A,B,C\n")
    assert "line 3, tier" in str(error.value)
    with pytest.raises(RulesBroken, match="the header lacks tier"):
        parse_matrix_csv("entry_id,area,description,typical_provider,frequency\n")
    with pytest.raises(RulesBroken, match=r"not YAML|list of entries"):
        parse_matrix_yaml("entries: 3")
    comma = (
        "- {entry_id: A, area: cognition_and_learning, tier: universal, description: x,"
        " typical_provider: y, frequency: Once, with a follow-up}"
    )
    with pytest.raises(RulesBroken, match="unknown keys: with a follow-up"):
        parse_matrix_yaml(comma)


# -- the provision checks ------------------------------------------------------------------


def started(matrix: Matrix, **kw: Any) -> SupportPlan:
    _, plan = run(opened(), cycle(matrix, **kw))
    return plan


def kinds(plan: SupportPlan, matrix: Matrix) -> list[GapKind]:
    assert plan.current is not None
    return [gap.kind for gap in check_cycle(plan.current, matrix)]


def test_a_need_met_at_its_tier_with_every_outcome_supported_has_no_gap() -> None:
    matrix = published(V1)
    assert kinds(started(matrix), matrix) == []


def test_provision_below_the_tier_a_need_calls_for_is_a_gap() -> None:
    matrix = published(V1)
    lines = [LineIn(LINE, "CL-U1", "20 minutes", date(2026, 1, 12), outcome_ids=(OUTCOME,))]
    plan = started(matrix, lines=lines)
    assert kinds(plan, matrix) == [GapKind.NEED_WITHOUT_PROVISION]
    # A specialist entry meets a targeted need; an entry in another area does not.
    matrix = published(
        (
            date(2025, 9, 1),
            [
                entry("CL-S1", Tier.SPECIALIST),
                entry("SP-S1", Tier.SPECIALIST, AreaOfNeed.SENSORY_AND_PHYSICAL),
            ],
        )
    )
    for entry_id, expected in (("CL-S1", []), ("SP-S1", [GapKind.NEED_WITHOUT_PROVISION])):
        lines = [LineIn(LINE, entry_id, "1 hour", date(2026, 1, 12), outcome_ids=(OUTCOME,))]
        assert kinds(started(matrix, lines=lines), matrix) == expected


def test_an_outcome_no_line_supports_is_a_gap() -> None:
    matrix = published(V1)
    lines = [LineIn(LINE, "CL-T1", "20 minutes", date(2026, 1, 12))]
    assert kinds(started(matrix, lines=lines), matrix) == [GapKind.OUTCOME_WITHOUT_PROVISION]
    no_lines = started(matrix, lines=[])
    assert kinds(no_lines, matrix) == [
        GapKind.NEED_WITHOUT_PROVISION,
        GapKind.OUTCOME_WITHOUT_PROVISION,
    ]


def test_provision_not_delivered_as_planned_and_delivery_never_recorded_are_gaps() -> None:
    matrix = published(V1)
    plan = started(matrix)
    _, plan = run(plan, RecordDelivery(LINE, date(2026, 2, 2), True, "senco-1", "school"))
    assert kinds(plan, matrix) == []
    _, plan = run(plan, RecordDelivery(LINE, date(2026, 3, 2), False, "senco-1", "school"))
    assert kinds(plan, matrix) == [GapKind.PROVISION_NOT_DELIVERED]
    quiet = started(matrix)
    assert kinds(quiet, matrix) == []  # under way: nothing recorded yet is not a gap
    _, quiet = run(quiet, review())
    gaps = check_cycle(quiet.current, matrix)
    assert [g.kind for g in gaps] == [GapKind.PROVISION_NOT_DELIVERED]
    assert "no delivery was recorded" in gaps[0].detail


def test_a_cycle_is_judged_by_the_matrix_in_force_on_its_date_not_today() -> None:
    # Version 2 (from 1 October 2026) makes CL-T1 universal: a cycle of January 2026 keeps
    # version 1's targeted CL-T1, and meets its targeted need, whatever day it is read.
    reclassified = [entry("CL-U1", Tier.UNIVERSAL), entry("CL-T1", Tier.UNIVERSAL)]
    matrix = published(V1, (date(2026, 10, 1), reclassified))
    plan = started(matrix)
    assert plan.current is not None
    assert plan.current.matrix_version == 1
    assert kinds(plan, matrix) == []
    later = datetime(2026, 10, 5, 10, tzinfo=UTC)
    _, reviewed = run(plan, review(on=date(2026, 10, 2)), later)
    _, next_cycle = run(reviewed, cycle(matrix, starts_on=date(2026, 10, 5)), later)
    assert next_cycle.current.matrix_version == 2
    gaps = check_cycle(next_cycle.current, matrix)
    assert [g.kind for g in gaps] == [GapKind.NEED_WITHOUT_PROVISION]
    assert gaps[0].matrix_version == 2
    assert check_cycle(next_cycle.cycles[0], matrix)[0].kind is GapKind.PROVISION_NOT_DELIVERED


# -- the SEN support plan ------------------------------------------------------------------


def test_a_line_naming_an_entry_not_in_the_version_in_force_is_refused() -> None:
    # CL-S9 arrives in version 2 (October): a September cycle cannot name it yet.
    matrix = published(V1, (date(2026, 10, 1), [*V1[1], entry("CL-S9", Tier.SPECIALIST)]))
    lines = [LineIn(LINE, "CL-S9", "1 hour", date(2026, 1, 12), outcome_ids=(OUTCOME,))]
    with pytest.raises(RulesBroken) as error:
        run(opened(), cycle(matrix, lines=lines))
    assert broken_fields(error) == ["provision.0.entry_id"]
    assert "not an entry of SEND Provision Matrix version 1" in str(error.value)
    wrong_tier = [LineIn(LINE, "CL-T1", "1 hour", date(2026, 1, 12), tier=Tier.SPECIALIST)]
    with pytest.raises(RulesBroken) as error:
        run(opened(), cycle(matrix, lines=wrong_tier))
    assert broken_fields(error) == ["provision.0.tier"]


def test_a_cycle_dated_before_the_plan_opened_or_with_no_matrix_is_refused() -> None:
    matrix = published(V1)
    with pytest.raises(RulesBroken) as error:
        run(opened(date(2026, 1, 5)), cycle(matrix, starts_on=date(2026, 1, 4)))
    assert "starts_on" in broken_fields(error)
    assert "before the plan opened" in str(error.value)
    with pytest.raises(RulesBroken, match="no SEND Provision Matrix version is in force"):
        run(opened(date(2025, 1, 6)), cycle(matrix, starts_on=date(2025, 1, 6), lines=[]))
    with pytest.raises(RulesBroken, match="in the future"):
        run(opened(), cycle(matrix, starts_on=date(2026, 9, 2), lines=[]))


def test_a_review_records_progress_on_every_outcome_of_its_own_cycle() -> None:
    plan = started(published(V1))
    stranger = uuid4()
    with pytest.raises(RulesBroken) as error:
        run(plan, review(progress=(ProgressIn(stranger, ProgressStatus.ACHIEVED, "Done."),)))
    assert broken_fields(error) == ["progress.0.outcome_id", "progress"]
    assert "not an outcome of this plan" in str(error.value)
    events, reviewed = run(plan, review())
    assert [type(e) for e in events[:2]] == [OutcomeProgressRecorded, SupportPlanReviewed]
    assert reviewed.outcome(OUTCOME).progress[-1].status is ProgressStatus.PROGRESSING
    with pytest.raises(StepOutOfOrder, match="was reviewed"):
        run(reviewed, review())


def test_stepping_down_closes_the_plan_and_a_closed_plan_takes_no_review() -> None:
    plan = started(published(V1))
    events, closed = run(plan, review(ReviewDecision.STEP_DOWN))
    assert isinstance(events[2], SupportPlanClosed)
    assert not closed.open
    assert closed.close_reason is CloseReason.STEPPED_DOWN
    withdrawn = [e for e in events if isinstance(e, ContributionWithdrawn)]
    assert len(withdrawn) == 3
    assert all("closed" in (e.reason or "") for e in withdrawn)
    with pytest.raises(StepOutOfOrder, match="needs an open plan"):
        run(closed, review())
    with pytest.raises(StepOutOfOrder, match="needs an open plan"):
        run(closed, cycle(published(V1), starts_on=date(2026, 4, 1)))


def test_only_the_agency_that_opened_the_plan_runs_it() -> None:
    plan = started(published(V1))
    with pytest.raises(NotPermitted):
        run(plan, RecordDelivery(LINE, date(2026, 2, 2), True, "x", "health"))
    with pytest.raises(NotRecorded):
        run(plan, RecordDelivery(uuid4(), date(2026, 2, 2), True, "senco-1", "school"))
    with pytest.raises(NotRecorded):
        run(None, CloseSupportPlan(date(2026, 2, 2), CloseReason.OTHER, "senco-1", "school"))


def test_the_plan_contributes_needs_outcomes_and_provision_with_the_golden_thread() -> None:
    matrix = published(V1)
    events, plan = run(opened(), cycle(matrix))
    assert isinstance(events[0], SupportCycleStarted)
    submitted = {e.section: e for e in events if isinstance(e, ContributionSubmitted)}
    assert set(submitted) == {PlanSection.B, PlanSection.E, PlanSection.F}
    e_id = uuid5(PLAN_ID, f"outcome:{OUTCOME}")
    assert submitted[PlanSection.E].contribution_id == e_id
    assert submitted[PlanSection.B].contribution_id == uuid5(PLAN_ID, f"need:{NEED}")
    assert submitted[PlanSection.F].contribution_id == uuid5(PLAN_ID, f"provision:{LINE}")
    assert submitted[PlanSection.B].outcomes == (str(e_id),)
    assert submitted[PlanSection.F].outcomes == (str(e_id),)
    assert {e.data_class.value for e in submitted.values()} == {"education"}
    assert {e.agency for e in submitted.values()} == {"school"}

    # Progress revises the same outcome contribution; delivery revises the provision's.
    events, plan = run(plan, RecordDelivery(LINE, date(2026, 2, 2), False, "senco-1", "school"))
    revised = [e for e in events if isinstance(e, ContributionRevised)]
    assert [(e.contribution_id, e.section) for e in revised] == [
        (uuid5(PLAN_ID, f"provision:{LINE}"), PlanSection.F)
    ]
    assert "Not delivered as planned." in revised[0].content
    events, plan = run(plan, review(ReviewDecision.CHANGE))
    revised = [e for e in events if isinstance(e, ContributionRevised)]
    assert [e.contribution_id for e in revised] == [e_id]
    assert "progressing" in revised[0].content

    # The next cycle carries the need and the outcome on, with a new line: the old line's
    # contribution is withdrawn, the new one submitted, the carried ones stay.
    new_line = uuid4()
    lines = [LineIn(new_line, "CL-T1", "30 minutes", date(2026, 4, 13), outcome_ids=(OUTCOME,))]
    events, plan = run(plan, cycle(matrix, starts_on=date(2026, 4, 13), lines=lines))
    assert [e.contribution_id for e in events if isinstance(e, ContributionWithdrawn)] == [
        uuid5(PLAN_ID, f"provision:{LINE}")
    ]
    assert [e.contribution_id for e in events if isinstance(e, ContributionSubmitted)] == [
        uuid5(PLAN_ID, f"provision:{new_line}")
    ]
    assert plan.outcome(OUTCOME).progress[0].cycle == 1


def test_a_line_added_later_is_judged_by_the_cycles_version() -> None:
    matrix = published(V1, (date(2026, 10, 1), [entry("CL-NEW", Tier.TARGETED)]))
    plan = started(matrix, lines=[])
    later = LineIn(uuid4(), "CL-NEW", "1 hour", date(2026, 2, 1))
    with pytest.raises(RulesBroken) as error:
        run(plan, PlanProvision(later, matrix, "senco-1", "school"))
    assert broken_fields(error) == ["entry_id"]
    fine = LineIn(uuid4(), "CL-T1", "1 hour", date(2026, 2, 1), outcome_ids=(OUTCOME,))
    _, plan = run(plan, PlanProvision(fine, matrix, "senco-1", "school"))
    assert kinds(plan, matrix) == []


def test_the_history_an_assessment_request_carries() -> None:
    plan = started(published(V1))
    _, plan = run(plan, RecordDelivery(LINE, date(2026, 2, 2), True, "senco-1", "school"))
    _, plan = run(plan, review(ReviewDecision.REQUEST_EHC_ASSESSMENT))
    told = history(plan)
    assert told.support_plan_id == PLAN_ID
    assert told.setting == SCHOOL
    [first] = told.cycles
    assert first.decision is ReviewDecision.REQUEST_EHC_ASSESSMENT
    assert first.child_views == "I want to read comics."
    assert first.outcomes[0].progress[0].evidence == "Reading age up 6 months."
    assert first.provision[0].delivered_as_planned is True


# -- tracked EHC outcomes and the plan types -----------------------------------------------


def test_progress_on_an_outcome_of_another_plan_is_refused() -> None:
    plan_id, other = uuid4(), uuid4()
    state = None
    for event in ehc_outcomes.decide(
        None,
        RecordEhcOutcomes(
            plan_id,
            CHILD,
            date(2026, 3, 1),
            (OutcomeIn(OUTCOME, "Travels alone."),),
            date(2026, 3, 2),
            "cw-1",
        ),
        NOW,
    ):
        state = ehc_outcomes.evolve(state, event)
    with pytest.raises(RulesBroken) as error:
        ehc_outcomes.decide(
            state,
            RecordEhcProgress(
                (ProgressIn(other, ProgressStatus.ACHIEVED, "Yes."),), date(2026, 8, 1), "cw-1"
            ),
            NOW,
        )
    assert broken_fields(error) == ["progress.0.outcome_id"]
    [progress] = ehc_outcomes.decide(
        state,
        RecordEhcProgress(
            (ProgressIn(OUTCOME, ProgressStatus.PROGRESSING, "Half the route."),),
            date(2026, 8, 1),
            "cw-1",
        ),
        NOW,
    )
    assert isinstance(progress, OutcomeProgressRecorded)
    assert progress.plan_type == "ehc_plan"
    with pytest.raises(NotRecorded):
        ehc_outcomes.decide(None, RecordEhcProgress((), date(2026, 8, 1), "cw-1"), NOW)


def test_plan_types_are_data() -> None:
    shipped = parse_plan_types(files("oneplan_plans").joinpath("data/plan_types.yaml").read_text())
    assert shipped.cycled("sen_support").opened_by == {"school"}
    with pytest.raises(RulesBroken, match="does not run"):
        shipped.cycled("ehc_plan")
    custom = parse_plan_types(
        "- {key: early_years_support, title: Early years support plan, statutory: false,"
        " cycles: true, opened_by: [early_years], sections: [B, E, F]}"
    )
    assert custom.cycled("early_years_support").title == "Early years support plan"
    with pytest.raises(RulesBroken, match="is not a plan type"):
        custom.cycled("sen_support")
