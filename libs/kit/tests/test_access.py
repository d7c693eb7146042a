"""Access policies decided on a principal and the request's service, without an app."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from oneplan_kit.access import AGENCY_STAFF
from oneplan_kit.auth import Principal


def request_to(owner: str | None) -> Any:
    """What a policy reads of a request: the running service's definition."""
    definition = SimpleNamespace(owner_agency=owner)
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(definition=definition)))


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [
        (Principal("p1", "housing", frozenset({"practitioner"})), True),
        (Principal("p2", "housing", frozenset({"caseworker", "admin"})), True),
        (Principal("p3", "housing", frozenset()), False),  # no known role
        (Principal("p4", "housing", frozenset({"tenant"})), False),
        (Principal("p5", "send", frozenset({"caseworker"})), False),  # another agency
        (Principal("p6", "family", frozenset({"practitioner"})), False),
    ],
)
def test_agency_staff_are_the_owning_agencys_practitioners(
    principal: Principal, allowed: bool
) -> None:
    refusal = AGENCY_STAFF.refusal(principal, request_to("housing"))
    assert (refusal is None) is allowed
    if refusal is not None:
        assert "housing" in refusal.detail
        assert not refusal.not_found


def test_a_service_without_an_owner_agency_has_no_agency_staff() -> None:
    principal = Principal("p1", "housing", frozenset({"practitioner"}))
    assert AGENCY_STAFF.refusal(principal, request_to(None)) is not None
