"""The shared plan's assembly (pure): what each reader is shown, the golden thread, the team
around the child, and the fingerprint the ETag is made from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

from oneplan_events.vocabulary import PlanSection
from oneplan_plans.domain.shared_plan import (
    Decision,
    JourneyStep,
    LeadProfessional,
    PlanLine,
    assemble,
    golden_thread,
    team_around,
)

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def line(
    section: str, agency: str = "send", data_class: str = "education", **kw: object
) -> PlanLine:
    values: dict[str, object] = {
        "item_id": uuid4(),
        "section": PlanSection(section),
        "service": {"health": "referrals", "transport": "transport"}.get(agency, "plans"),
        "agency": agency,
        "data_class": data_class,
        "title": f"{agency} {section}",
        "content": "text",
        "author": f"{agency}-author",
        "recorded_at": T0,
        "source_event_id": str(uuid4()),
    }
    values.update(kw)
    return PlanLine(**values)


def allow(*pairs: tuple[str, str]) -> Callable[[str, str], Decision]:
    def decide(agency: str, data_class: str) -> Decision:
        if agency == "send":
            return Decision(True, "own_data")
        if (agency, data_class) in pairs:
            return Decision(True, "consent")
        return Decision(False, reason="no consent covers it")

    return decide


def test_a_withheld_line_never_appears_and_its_section_is_named_without_content() -> None:
    secret = line("C", "health", "health", content="confidential diagnosis")
    view = assemble([line("B"), secret], [], None, allow())
    assert view.sections[PlanSection.C] == []
    assert [(w.section, w.agency, w.data_class) for w in view.withheld] == [
        ("C", "health", "health")
    ]
    assert "confidential" not in repr(view.withheld)
    assert view.released == []


def test_a_released_line_is_shown_and_reported_as_released() -> None:
    health = line("C", "health", "health")
    view = assemble([health], [], None, allow(("health", "health")))
    assert view.sections[PlanSection.C] == [health]
    assert view.released == [("health", "health")]
    assert view.withheld == []


def test_each_agency_and_data_class_is_decided_once_per_read() -> None:
    asked: list[tuple[str, str]] = []

    def decide(agency: str, data_class: str) -> Decision:
        asked.append((agency, data_class))
        return Decision(True, "consent")

    lines = [line("C", "health", "health") for _ in range(50)]
    assemble(lines, [], None, decide)
    assert asked == [("health", "health")]


def test_timeline_steps_are_decided_like_lines_and_sorted_oldest_first() -> None:
    def step(agency: str, data_class: str, minutes: int) -> JourneyStep:
        at = T0 + timedelta(minutes=minutes)
        return JourneyStep(str(uuid4()), at, at.date(), "x", agency, data_class, "t", "label")

    late, early = step("send", "education", 5), step("send", "education", 1)
    hidden = step("health", "health", 3)
    view = assemble([], [late, hidden, early], None, allow())
    assert view.timeline == [early, late]
    assert [(w.section, w.agency) for w in view.withheld] == [("timeline", "health")]


def test_sections_come_in_statutory_order_and_lines_oldest_first() -> None:
    newer = line("F", recorded_at=T0 + timedelta(days=1))
    older = line("F")
    view = assemble([line("K"), newer, older, line("A")], [], None, allow())
    assert [s.value for s in view.sections] == [s.value for s in PlanSection]
    assert view.sections[PlanSection.F] == [older, newer]


def test_the_golden_thread_is_complete_when_needs_outcomes_and_provision_link() -> None:
    outcome = line("E")
    need = line("B", outcomes=(str(outcome.item_id),))
    provision = line("F", outcomes=(str(outcome.item_id),))
    assert golden_thread([need, outcome, provision]).complete


def test_the_golden_thread_names_each_broken_link() -> None:
    outcome, lonely_outcome = line("E"), line("E")
    linked_need = line("C", outcomes=(str(outcome.item_id),))
    need_without_outcome = line("B")
    provision_without_need = line("G", outcomes=(str(lonely_outcome.item_id),))
    dangling = line("H2", outcomes=("no-such-outcome",))
    thread = golden_thread(
        [
            outcome,
            lonely_outcome,
            linked_need,
            need_without_outcome,
            provision_without_need,
            dangling,
        ]
    )
    assert not thread.complete
    assert thread.needs_without_outcomes == (need_without_outcome.item_id,)
    assert set(thread.needs_without_provision) == {
        linked_need.item_id,
        need_without_outcome.item_id,
    }
    assert set(thread.outcomes_without_provision) == {outcome.item_id}
    assert set(thread.provision_without_need) == {
        provision_without_need.item_id,
        dangling.item_id,
    }
    assert thread.unknown_outcome_links == ((dangling.item_id, "no-such-outcome"),)


def test_the_thread_is_checked_on_what_the_reader_sees() -> None:
    outcome = line("E")
    need = line("B", outcomes=(str(outcome.item_id),))
    health_provision = line("G", "health", "health", outcomes=(str(outcome.item_id),))
    shown = assemble([outcome, need, health_provision], [], None, allow())
    assert shown.thread.needs_without_provision == (need.item_id,)


def test_the_team_lists_professionals_once_with_the_lead_first() -> None:
    a = line("C", "health", "health", author="Dr A", author_role="Paediatrician")
    again = line("G", "health", "health", author="Dr A", author_contact="a@example.invalid")
    family = line("A", author="Pat", author_role="family", service="children")
    lead = LeadProfessional(
        "Sam", "Early help worker", "social_care", "0123", date(2026, 5, 1), "u"
    )
    team = team_around([a, again, family], lead)
    assert [(m.name, m.lead) for m in team] == [("Sam", True), ("Dr A", False)]
    assert team[1].role == "Paediatrician"
    assert team[1].contact == "a@example.invalid"


def test_the_fingerprint_changes_when_what_is_shown_changes() -> None:
    shown = line("B")
    first = assemble([shown], [], None, allow())
    same = assemble([shown], [], None, allow())
    revised = assemble([replace(shown, revision=2, source_event_id="e2")], [], None, allow())
    assert first.fingerprint() == same.fingerprint()
    assert first.fingerprint() != revised.fingerprint()
    assert first.fingerprint("as of") != first.fingerprint()
