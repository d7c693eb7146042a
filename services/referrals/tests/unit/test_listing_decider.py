"""A service of the directory as a decider (given / when / then): listed once, changed when
something changed, retired once and then left alone."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from oneplan_referrals.domain.commands import ChangeService, ListService, RetireService
from oneplan_referrals.domain.directory import demo_directory_csv, parse_directory
from oneplan_referrals.domain.errors import AlreadyRecorded, InvalidInput, NotFound, WrongState
from oneplan_referrals.domain.listing import LISTING, changed_fields
from oneplan_referrals.events import (
    DirectoryEntry,
    DirectoryServiceChanged,
    DirectoryServiceListed,
    DirectoryServiceRetired,
)
from oneplan_testkit.deciders import DeciderSpec

from ..referrals_testing import OT, RISE

DIRECTORY = parse_directory(demo_directory_csv())
RISE_ENTRY = DIRECTORY.entries[RISE]
LISTED = DirectoryServiceListed(entry=RISE_ENTRY, source="csv", recorded_by="directory-csv")
SPEC = DeciderSpec(LISTING)


def test_a_service_is_listed_once() -> None:
    SPEC.when(ListService(RISE_ENTRY, "csv", "directory-csv")).then(LISTED)
    listed = SPEC.given(LISTED)
    listed.when(ListService(RISE_ENTRY, "api", "manager-1")).then_raises(AlreadyRecorded)
    state = listed.state()
    assert state is not None
    assert (state.entry, state.retired, state.version) == (RISE_ENTRY, False, 1)


def test_a_change_names_what_changed_and_an_unchanged_entry_records_nothing() -> None:
    moved = RISE_ENTRY.model_copy(update={"phone": "01632 960099", "max_age": 19})
    listed = SPEC.given(LISTED)
    listed.when(ChangeService(moved, "api", "manager-1")).then(
        DirectoryServiceChanged(
            entry=moved, changed_fields=("max_age", "phone"), source="api", recorded_by="manager-1"
        )
    )
    listed.when(ChangeService(RISE_ENTRY, "csv", "directory-csv")).then_nothing()
    other = DIRECTORY.entries[OT]
    listed.when(ChangeService(other, "api", "manager-1")).then_raises(InvalidInput, "keeps")
    SPEC.when(ChangeService(RISE_ENTRY, "api", "manager-1")).then_raises(NotFound)
    assert changed_fields(RISE_ENTRY, moved) == ("max_age", "phone")


def test_a_retired_service_stays_retired() -> None:
    retired = DirectoryServiceRetired(
        service_id=RISE, retired_on=date(2026, 5, 1), reason="Merged.", recorded_by="manager-1"
    )
    listed = SPEC.given(LISTED)
    listed.when(RetireService(date(2026, 5, 1), "manager-1", "Merged.")).then(retired)
    gone = listed.given(retired)
    state = gone.state()
    assert state is not None
    assert (state.retired_on, state.version) == (date(2026, 5, 1), 2)
    gone.when(RetireService(date(2026, 5, 2), "manager-1")).then_raises(WrongState)
    gone.when(ChangeService(RISE_ENTRY, "csv", "directory-csv")).then_raises(WrongState)
    SPEC.when(RetireService(date(2026, 5, 1), "manager-1")).then_raises(NotFound)


def test_an_entry_keeps_its_ages_in_order() -> None:
    values = RISE_ENTRY.model_dump() | {"min_age": 12, "max_age": 4}
    with pytest.raises(ValidationError) as raised:
        DirectoryEntry.model_validate(values)
    assert [error["loc"] for error in raised.value.errors()] == [("max_age",)]
