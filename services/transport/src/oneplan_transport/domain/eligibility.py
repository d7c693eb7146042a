"""Home-to-school travel eligibility for children of compulsory school age (England).

The rules of the Education Act 1996 (s508B, Schedule 35B) as the DfE's statutory guidance
"Travel to school for children of compulsory school age" states them, applied to the facts
the transport team entered (it measures the distance itself; no maps service is asked):

- the statutory walking distance: 2 miles below the age of 8, 3 miles from 8, to the nearest
  suitable school;
- a child who cannot reasonably be expected to walk because of their special educational
  needs, a disability or a mobility problem;
- a route that is not reasonably safe to walk, even accompanied;
- extended rights for low-income families: from 8 to under 11, beyond 2 miles; from 11, a
  school between 2 and 6 miles away that is one of the three nearest suitable ones.

Outside compulsory school age there is no statutory entitlement: the authority's post-16
transport policy statement (or its discretion) decides, so only a discretionary reason makes
such a child eligible here. Pure: every date is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from oneplan_transport.events import EligibilityFacts, EligibilityGround, EligibilityOutcome

__all__ = [
    "Assessment",
    "age_on",
    "assess",
    "birthday",
    "compulsory_school_age_ends",
    "compulsory_school_age_starts",
    "walking_distance_miles",
]

_EXTENDED_RIGHTS_MILES = 2
_EXTENDED_RIGHTS_SECONDARY_MAX_MILES = 6


@dataclass(frozen=True)
class Assessment:
    """What the rules say about the facts."""

    outcome: EligibilityOutcome
    grounds: tuple[EligibilityGround, ...]
    reasons: tuple[str, ...]
    age: int
    walking_distance_miles: int
    reassess_on: date | None


def birthday(date_of_birth: date, age: int) -> date:
    """The day the child reaches `age` (29 February birthdays fall on 1 March)."""
    try:
        return date_of_birth.replace(year=date_of_birth.year + age)
    except ValueError:
        return date(date_of_birth.year + age, 3, 1)


def age_on(date_of_birth: date, day: date) -> int:
    """Whole years of age on `day`."""
    years = day.year - date_of_birth.year
    return years if birthday(date_of_birth, years) <= day else years - 1


def walking_distance_miles(age: int) -> int:
    """The statutory walking distance at `age`."""
    return 2 if age < 8 else 3


def compulsory_school_age_starts(date_of_birth: date) -> date:
    """The prescribed day (31 December, 31 March or 31 August) on or after the 5th birthday."""
    fifth = birthday(date_of_birth, 5)
    for month, day in ((3, 31), (8, 31), (12, 31)):
        prescribed = date(fifth.year, month, day)
        if prescribed >= fifth:
            return prescribed
    raise AssertionError("31 December is on or after every day of its year")


def compulsory_school_age_ends(date_of_birth: date) -> date:
    """The last Friday in June of the school year in which the child turns 16."""
    sixteenth = birthday(date_of_birth, 16)
    year = sixteenth.year + 1 if sixteenth.month >= 9 else sixteenth.year
    june_30 = date(year, 6, 30)
    return date(year, 6, 30 - (june_30.weekday() - 4) % 7)


def assess(
    facts: EligibilityFacts,
    *,
    date_of_birth: date,
    compulsory_school_age_ends_on: date,
    on: date,
    setting: str,
) -> Assessment:
    """The outcome, its grounds and the reasons a family reads, on day `on`."""
    age = age_on(date_of_birth, on)
    limit = walking_distance_miles(age)
    reassess_on = birthday(date_of_birth, 8) if age < 8 else None
    starts = compulsory_school_age_starts(date_of_birth)
    if not starts <= on <= compulsory_school_age_ends_on:
        reason = (
            f"On {on.isoformat()} the child (aged {age}) is not of compulsory school age "
            f"({starts.isoformat()} to {compulsory_school_age_ends_on.isoformat()}): there is "
            "no statutory entitlement; the authority's transport policy decides."
        )
        return _with_discretion(facts, [], [reason], age, limit, None)
    grounds: list[EligibilityGround] = []
    reasons: list[str] = []
    miles = f"{facts.distance_miles:g} miles"
    if facts.school_is_nearest_suitable:
        if facts.distance_miles > limit:
            grounds.append(EligibilityGround.BEYOND_WALKING_DISTANCE)
            reasons.append(
                f"{setting} is {miles} away by the shortest walking route, beyond the "
                f"statutory walking distance of {limit} miles at age {age}."
            )
        else:
            reasons.append(
                f"{setting} is {miles} away by the shortest walking route, within the "
                f"statutory walking distance of {limit} miles at age {age}."
            )
        if facts.sen_disability_or_mobility_prevents_walking:
            grounds.append(EligibilityGround.SEN_DISABILITY_OR_MOBILITY)
            reasons.append(
                "The child cannot reasonably be expected to walk to school, even accompanied, "
                "because of special educational needs, a disability or mobility problems"
                + _details(facts.sen_disability_or_mobility_details)
            )
        if facts.route_unsafe:
            grounds.append(EligibilityGround.UNSAFE_ROUTE)
            reasons.append(
                "No walking route is reasonably safe, even accompanied"
                + _details(facts.route_unsafe_details)
            )
    else:
        reasons.append(
            f"{setting} is not the nearest suitable school: distance, needs and route safety "
            "give no statutory entitlement to travel there."
        )
    extended = _extended_rights(facts, age)
    if extended is not None and EligibilityGround.BEYOND_WALKING_DISTANCE not in grounds:
        grounds.append(EligibilityGround.EXTENDED_RIGHTS_LOW_INCOME)
        reasons.append(extended)
    return _with_discretion(facts, grounds, reasons, age, limit, reassess_on)


def _extended_rights(facts: EligibilityFacts, age: int) -> str | None:
    if not facts.low_income or facts.distance_miles <= _EXTENDED_RIGHTS_MILES:
        return None
    if 8 <= age < 11 and facts.school_is_nearest_suitable:
        return (
            "Extended rights (low income): aged 8 to 10, the nearest suitable school is more "
            "than 2 miles away."
        )
    within = facts.distance_miles <= _EXTENDED_RIGHTS_SECONDARY_MAX_MILES
    if age >= 11 and within and facts.among_three_nearest_suitable:
        return (
            "Extended rights (low income): aged 11 or over, the school is between 2 and 6 "
            "miles away and one of the three nearest suitable schools."
        )
    return None


def _with_discretion(
    facts: EligibilityFacts,
    grounds: list[EligibilityGround],
    reasons: list[str],
    age: int,
    limit: int,
    reassess_on: date | None,
) -> Assessment:
    if not grounds and facts.discretionary_reason is not None:
        grounds.append(EligibilityGround.DISCRETIONARY)
        reasons.append(
            f"Transport is provided at the authority's discretion: {facts.discretionary_reason}"
        )
    outcome = EligibilityOutcome.ELIGIBLE if grounds else EligibilityOutcome.NOT_ELIGIBLE
    return Assessment(outcome, tuple(grounds), tuple(reasons), age, limit, reassess_on)


def _details(details: str | None) -> str:
    return f": {details}" if details else "."
