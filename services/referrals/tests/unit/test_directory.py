"""The directory as data: CSV in (every fault at once), Open Referral UK out."""

from __future__ import annotations

from uuid import UUID

import pytest

from oneplan_referrals.domain.directory import (
    CSV_COLUMNS,
    DirectoryError,
    demo_directory_csv,
    parse_directory,
)

RISE = UUID("3f2b8a10-4c1e-4f7a-9b61-0c5d2e7a1001")
HEADER = ",".join(CSV_COLUMNS)


def test_the_shipped_directory_loads() -> None:
    directory = parse_directory(demo_directory_csv())
    rise = directory.get(RISE)
    assert rise is not None
    assert (rise.code, rise.organisation, rise.categories) == (
        "rise",
        "Example Children's Health NHS Trust",
        ("mental_health", "camhs"),
    )
    assert rise.takes_age(11)
    assert not rise.takes_age(19)
    assert len(directory.listed()) == 6


def test_the_oruk_export_has_the_hsds_service_shape() -> None:
    page = parse_directory(demo_directory_csv()).oruk()
    assert (page["total_items"], page["total_pages"], page["first_page"]) == (6, 1, True)
    [rise] = [s for s in page["contents"] if s["id"] == str(RISE)]
    assert rise["organization"]["name"] == "Example Children's Health NHS Trust"
    assert rise["status"] == "active"
    assert (rise["minimum_age"], rise["maximum_age"]) == (0, 18)
    assert rise["contacts"][0]["email"] == "rise@example.org"
    assert rise["contacts"][0]["phones"][0]["number"] == "01632 960001"
    assert {t["name"] for t in rise["taxonomy_terms"]} == {"mental_health", "camhs"}


def test_every_faulty_row_and_column_is_reported_at_once() -> None:
    rows = [
        HEADER,
        f"{RISE},rise,Rise,{RISE},Trust,What it offers.,0,18,Criteria.,not-an-email,,,",
        "not-a-uuid,BAD CODE,<b>Name</b>,x,Trust,Offers.,5,3,Criteria.,,,,",
    ]
    with pytest.raises(DirectoryError) as raised:
        parse_directory("\n".join(rows))
    faults = raised.value.faults
    assert any(f.startswith("line 2, email") for f in faults)
    assert {"line 3, id", "line 3, code", "line 3, name", "line 3, organisation_id"} <= {
        f.split(":")[0] for f in faults
    }


def test_a_missing_column_or_a_repeated_service_is_refused() -> None:
    with pytest.raises(DirectoryError, match="lacks"):
        parse_directory("id,name\n")
    row = f"{RISE},rise,Rise,{RISE},Trust,Offers.,0,18,Criteria.,,,,"
    with pytest.raises(DirectoryError, match="twice"):
        parse_directory("\n".join([HEADER, row, row]))
    with pytest.raises(DirectoryError, match="above max_age"):
        parse_directory("\n".join([HEADER, row.replace(",0,18,", ",12,4,")]))
