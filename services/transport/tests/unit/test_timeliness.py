"""The timeliness summary of first decisions: pure."""

from __future__ import annotations

from oneplan_transport.domain.timeliness import Timeliness, summarise


def test_first_decisions_are_counted_against_their_targets() -> None:
    summary = summarise([(9, True), (12, False), (3, True), (None, None)])
    assert summary == Timeliness(
        decisions=4,
        within_target=2,
        beyond_target=1,
        not_counted=1,
        percent_within_target=66.7,
        median_working_days=9.0,
        longest_working_days=12,
    )


def test_a_period_without_decisions_has_no_rates() -> None:
    assert summarise([]) == Timeliness(0, 0, 0, 0, None, None, None)
    assert summarise([(None, None)]).percent_within_target is None
