"""The plans service's event catalogue: what it publishes, the contract others read.

Every event type is a strict pydantic model registered here under
`oneplan.plans.<aggregate>.<past-tense event>`; `docs/asyncapi.yaml` is
generated from this catalogue (`./oneplan generate`). Evolve a type by bumping its `version`
and registering an upcaster from the old shape (docs/events.md). To read another service's
event, register a reader of just the fields you need: a `ForeignEvent` subclass under
`@CATALOGUE.reads(...)`.
"""

from __future__ import annotations

from typing import Annotated, Final
from uuid import UUID

from pydantic import AwareDatetime, Field

from oneplan_events.catalogue import (
    Catalogue,
    DataClass,
    Event,
    register_contribution_events,
    register_disclosure_event,
)
from oneplan_events.types import AgencyName, LongText

__all__ = [
    "CATALOGUE",
    "CONTRIBUTIONS",
    "DATA_CLASS",
    "Author",
    "NoteRecorded",
    "PlansDisclosureRecorded",
]

CATALOGUE = Catalogue("plans")
"""Every event the plans service publishes (and the readers of those it consumes)."""

DATA_CLASS: Final = DataClass.EDUCATION
"""The class of information this service records: consent is given per data class, so this
decides what another agency needs a permit for. Change it to what the agency holds."""

Author = Annotated[str, Field(min_length=1, max_length=255, description="the author's token sub")]


@CATALOGUE.register(
    "oneplan.plans.note.recorded",
    DATA_CLASS,
    version=1,
    summary="A practitioner recorded a note about a child.",
)
class NoteRecorded(Event):
    """A practitioner recorded a note about a child (the note's first and only event so far)."""

    note_id: UUID
    child_id: UUID  # copied into the envelope's `childid`: consent decisions rest on it
    text: LongText
    author: Author
    agency: AgencyName
    recorded_at: AwareDatetime


CONTRIBUTIONS = register_contribution_events("plans", CATALOGUE)
"""`oneplan.plans.contribution.submitted|revised|withdrawn`: how this agency
adds to the shared plan (the plans service reads every agency's, with no change
there)."""

PlansDisclosureRecorded = register_disclosure_event("plans", CATALOGUE)
"""`oneplan.plans.disclosure.recorded`: published when another agency is shown
this service's data (`SharingDep.record`); the consent service adds it to the family's
disclosure log."""
