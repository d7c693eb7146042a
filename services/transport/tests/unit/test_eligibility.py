"""The eligibility rules on the facts the team entered: pure, every date an argument."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from oneplan_transport.domain.eligibility import (
    age_on,
    assess,
    birthday,
    compulsory_school_age_ends,
    compulsory_school_age_starts,
)
from oneplan_transport.events import EligibilityFacts, EligibilityGround, EligibilityOutcome

ON = date(2026, 9, 14)
SEVEN = date(2019, 5, 1)  # 7 on ON, 8 on 1 May 2027
NINE = date(2017, 5, 1)
TWELVE = date(2014, 5, 1)


def decide(born: date, on: date = ON, **facts: Any) -> Any:
    return assess(
        EligibilityFacts(**facts),
        date_of_birth=born,
        compulsory_school_age_ends_on=compulsory_school_age_ends(born),
        on=on,
        setting="Brook Green School",
    )


def test_age_counts_whole_years_and_a_leap_day_birthday_falls_on_1_march() -> None:
    assert age_on(SEVEN, date(2027, 4, 30)) == 7
    assert age_on(SEVEN, date(2027, 5, 1)) == 8
    leap = date(2016, 2, 29)
    assert birthday(leap, 10) == date(2026, 3, 1)
    assert age_on(leap, date(2026, 2, 28)) == 9


def test_compulsory_school_age_starts_on_the_prescribed_day_and_ends_in_june_at_16() -> None:
    assert compulsory_school_age_starts(date(2019, 5, 1)) == date(2024, 8, 31)
    assert compulsory_school_age_starts(date(2019, 9, 1)) == date(2024, 12, 31)
    assert compulsory_school_age_starts(date(2019, 12, 31)) == date(2024, 12, 31)
    assert compulsory_school_age_starts(date(2020, 1, 1)) == date(2025, 3, 31)
    # Turning 16 in May 2030: the last Friday of June 2030 (28 June).
    assert compulsory_school_age_ends(date(2014, 5, 1)) == date(2030, 6, 28)
    # Turning 16 in October 2030: the school year ends in 2031 (last Friday: 27 June).
    assert compulsory_school_age_ends(date(2014, 10, 1)) == date(2031, 6, 27)


@pytest.mark.parametrize(
    ("born", "miles", "outcome"),
    [
        (SEVEN, 2.5, EligibilityOutcome.ELIGIBLE),  # beyond 2 miles under 8
        (SEVEN, 2.0, EligibilityOutcome.NOT_ELIGIBLE),  # exactly the walking distance
        (NINE, 2.5, EligibilityOutcome.NOT_ELIGIBLE),  # within 3 miles from 8
        (NINE, 3.1, EligibilityOutcome.ELIGIBLE),
    ],
)
def test_the_statutory_walking_distance_is_2_miles_under_8_and_3_from_8(
    born: date, miles: float, outcome: EligibilityOutcome
) -> None:
    decided = decide(born, distance_miles=miles)
    assert decided.outcome is outcome
    assert decided.walking_distance_miles == (2 if born == SEVEN else 3)
    expected = (EligibilityGround.BEYOND_WALKING_DISTANCE,) if outcome == "eligible" else ()
    assert decided.grounds == expected
    assert f"{miles:g} miles" in decided.reasons[0]


def test_under_8_the_decision_says_to_reassess_on_the_8th_birthday() -> None:
    assert decide(SEVEN, distance_miles=2.5).reassess_on == date(2027, 5, 1)
    assert decide(NINE, distance_miles=3.5).reassess_on is None


def test_needs_that_prevent_walking_and_an_unsafe_route_make_a_near_child_eligible() -> None:
    needs = decide(
        NINE,
        distance_miles=0.5,
        sen_disability_or_mobility_prevents_walking=True,
        sen_disability_or_mobility_details="Uses a wheelchair.",
    )
    assert needs.grounds == (EligibilityGround.SEN_DISABILITY_OR_MOBILITY,)
    assert any("Uses a wheelchair." in reason for reason in needs.reasons)
    route = decide(NINE, distance_miles=1.0, route_unsafe=True, route_unsafe_details="No path.")
    assert route.grounds == (EligibilityGround.UNSAFE_ROUTE,)


def test_low_income_extended_rights_by_age() -> None:
    nine = decide(NINE, distance_miles=2.5, low_income=True)
    assert nine.grounds == (EligibilityGround.EXTENDED_RIGHTS_LOW_INCOME,)
    # From 11: a school 2 to 6 miles away among the three nearest, even if not the nearest.
    twelve_near = decide(
        TWELVE,
        distance_miles=4,
        low_income=True,
        among_three_nearest_suitable=True,
        school_is_nearest_suitable=False,
    )
    assert twelve_near.grounds == (EligibilityGround.EXTENDED_RIGHTS_LOW_INCOME,)
    not_three_nearest = decide(TWELVE, distance_miles=2.5, low_income=True)
    assert not_three_nearest.outcome is EligibilityOutcome.NOT_ELIGIBLE
    too_far = decide(
        TWELVE,
        distance_miles=7,
        low_income=True,
        among_three_nearest_suitable=True,
        school_is_nearest_suitable=False,
    )
    assert too_far.outcome is EligibilityOutcome.NOT_ELIGIBLE
    beyond = decide(TWELVE, distance_miles=7, low_income=True, among_three_nearest_suitable=True)
    assert beyond.grounds == (EligibilityGround.BEYOND_WALKING_DISTANCE,)


def test_a_school_that_is_not_the_nearest_suitable_gives_no_statutory_ground() -> None:
    decided = decide(SEVEN, distance_miles=9, school_is_nearest_suitable=False)
    assert decided.outcome is EligibilityOutcome.NOT_ELIGIBLE
    assert "not the nearest suitable school" in decided.reasons[0]


def test_outside_compulsory_school_age_only_discretion_makes_a_child_eligible() -> None:
    seventeen = date(2009, 5, 1)
    refused = decide(seventeen, distance_miles=9)
    assert refused.outcome is EligibilityOutcome.NOT_ELIGIBLE
    assert "not of compulsory school age" in refused.reasons[0]
    granted = decide(seventeen, distance_miles=9, discretionary_reason="Post-16 policy 4.2.")
    assert granted.grounds == (EligibilityGround.DISCRETIONARY,)
    assert granted.outcome is EligibilityOutcome.ELIGIBLE
    four = decide(date(2022, 1, 10), distance_miles=9)
    assert four.outcome is EligibilityOutcome.NOT_ELIGIBLE
