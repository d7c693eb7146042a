"""JSON representations of a child's record, by what the reader may see.

Stored text is plain (markup is refused on the way in), so it is returned as it was told.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from oneplan_children.adapters.tables import ChildSummary
from oneplan_children.domain.calendar import (
    age_on,
    key_stage,
    over_compulsory_school_age,
    school_year,
    school_year_label,
)
from oneplan_children.domain.model import Child
from oneplan_children.events import Story
from oneplan_events.catalogue import DataClass

__all__ = [
    "EXTENDED_FIELDS",
    "child_href",
    "child_view",
    "minimal_identity",
    "story_view",
    "summary_view",
]

# What each data class adds to minimal identity.
EXTENDED_FIELDS: dict[DataClass, tuple[str, ...]] = {
    DataClass.IDENTITY: (
        "sex",
        "gender",
        "nhs_number",
        "address",
        "languages",
        "communication_needs",
        "family",
    ),
    DataClass.EDUCATION: ("upn", "setting"),
}


def child_href(child_id: object) -> str:
    """The record's URL path."""
    return f"/v1/children/{child_id}"


def age_facts(date_of_birth: date, today: date) -> dict[str, Any]:
    """Age, year group, key stage and compulsory school age, computed for `today`."""
    stage = key_stage(date_of_birth, today)
    return {
        "age": age_on(date_of_birth, today),
        "school_year": school_year(date_of_birth, today),
        "school_year_label": school_year_label(date_of_birth, today),
        "key_stage": None if stage is None else stage.value,
        "over_compulsory_school_age": over_compulsory_school_age(date_of_birth, today),
    }


def minimal_identity(child: Child, today: date) -> dict[str, Any]:
    """What any authenticated agency may see: id, names, date of birth and age facts."""
    details = child.details
    return {
        "child_id": str(child.child_id),
        "version": child.version,
        "given_name": details.given_name,
        "family_name": details.family_name,
        "preferred_name": details.preferred_name,
        "date_of_birth": details.date_of_birth.isoformat(),
        "compulsory_school_age_ends_on": details.compulsory_school_age_ends_on.isoformat(),
        **age_facts(details.date_of_birth, today),
        "merged_into": None if child.merged_into is None else str(child.merged_into),
        "links": {
            "self": child_href(child.child_id),
            "story": f"{child_href(child.child_id)}/story",
            **({"merged_into": child_href(child.merged_into)} if child.merged_into else {}),
        },
    }


def _extended(child: Child) -> dict[str, Any]:
    details = child.details
    return {
        "sex": details.sex,
        "gender": details.gender,
        "nhs_number": details.nhs_number,
        "upn": details.upn,
        "address": None if details.address is None else details.address.model_dump(mode="json"),
        "setting": None if details.setting is None else details.setting.model_dump(mode="json"),
        "languages": list(details.languages),
        "communication_needs": details.communication_needs,
        "family": [
            {"member_id": str(member.member_id), **member.details.model_dump(mode="json")}
            for member in child.family.values()
        ],
    }


def child_view(
    child: Child, today: date, visible: frozenset[DataClass] | None = None
) -> dict[str, Any]:
    """The record for a reader who may see the data classes in `visible` (None: everything)."""
    view = minimal_identity(child, today)
    extended = _extended(child)
    for data_class, fields in EXTENDED_FIELDS.items():
        if visible is None or data_class in visible:
            view.update({name: extended[name] for name in fields})
    return view


def story_view(child_id: UUID, revision: int, story: Story | None) -> dict[str, Any]:
    """The story at one revision (revision 0 and no story before it was first told)."""
    return {
        "child_id": str(child_id),
        "revision": revision,
        "story": None if story is None else story.model_dump(mode="json"),
        "links": {"child": child_href(child_id)},
    }


def summary_view(row: ChildSummary, today: date) -> dict[str, Any]:
    """A search hit."""
    return {
        "child_id": row.child_id,
        "given_name": row.given_name,
        "family_name": row.family_name,
        "date_of_birth": row.date_of_birth.isoformat(),
        "nhs_number": row.nhs_number,
        "upn": row.upn,
        **age_facts(row.date_of_birth, today),
        "links": {"self": child_href(row.child_id)},
    }
