"""Generic events any agency service publishes: contributions to the plan and disclosures.

Each service gets its own types (``oneplan.<service>.contribution.submitted`` ...) built from
the base models here, so a consumer can match any service's contribution with
``isinstance(event, ContributionSubmitted)``. Every catalogue knows these families: a type of
them from a service the catalogue has never heard of is registered on first sight, so a new
agency's contributions decode without a catalogue change anywhere.
"""

from __future__ import annotations

import re
from datetime import date
from typing import ClassVar, Final, Literal, NamedTuple, TypeVar
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field, JsonValue

from oneplan_events.catalogue._base import GENERIC_FAMILIES, Catalogue, Event
from oneplan_events.vocabulary import DataClass, PlanSection

__all__ = [
    "ContributionEvents",
    "ContributionRevised",
    "ContributionSubmitted",
    "ContributionWithdrawn",
    "DisclosureBasis",
    "DisclosureRecorded",
    "PlanSection",
    "register_contribution_events",
    "register_disclosure_event",
]

_SERVICE = r"(?P<service>[a-z][a-z0-9_]*)"
M = TypeVar("M", bound=Event)

DisclosureBasis = Literal["own_data", "consent", "override", "statutory_duty"]


class _Contribution(Event):
    contribution_id: UUID
    child_id: UUID
    section: PlanSection
    # The contribution's own data class, which consent decisions are taken on; it replaces
    # the per-type class attribute for this family (registered with data_class=None).
    data_class: DataClass  # type: ignore[misc]  # instance field deliberately shadows ClassVar
    author: str = Field(min_length=1, max_length=255)
    agency: str = Field(min_length=1, max_length=63)
    # Who the author is to the child and how to reach them: the plan's team around the child.
    author_role: str | None = Field(default=None, min_length=1, max_length=120)
    author_contact: str | None = Field(default=None, min_length=1, max_length=255)


_EXAMPLE: Final[dict[str, JsonValue]] = {
    "contribution_id": "5b0d6a3e-1c2f-4f7e-9a57-0d2f3b1c4e10",
    "child_id": "0b6f3c1e-8d55-4a57-9d55-1f3f7b1f0c11",
    "section": "C",
    "data_class": "health",
    "author": "Dr Ada Example",
    "agency": "health",
    "author_role": "Community paediatrician",
    "author_contact": "paediatrics@example.invalid",
    "title": "Speech and language needs",
    "content": "Speech sound disorder; understands more than she can say.",
    "outcomes": ["8d3c2f4a-6b1e-4c5d-9e7f-1a2b3c4d5e6f"],
    "effective_on": "2026-05-04",
}


class ContributionSubmitted(_Contribution):
    """An agency added a contribution to a section of the child's plan."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})
    type_pattern: ClassVar[str] = "oneplan.*.contribution.submitted"

    title: str = Field(min_length=1)
    content: str
    # The section E outcomes it supports: each an outcome contribution's id (the golden thread).
    outcomes: tuple[str, ...] = ()
    effective_on: date | None = Field(default=None, description="from when it applies")


class ContributionRevised(_Contribution):
    """An agency replaced the content of its earlier contribution (only its author's agency
    may; a withdrawn one is not revised)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_EXAMPLE, "content": "Now says short sentences."}]}
    )
    type_pattern: ClassVar[str] = "oneplan.*.contribution.revised"

    title: str = Field(min_length=1)
    content: str
    # The section E outcomes it supports: each an outcome contribution's id (the golden thread).
    outcomes: tuple[str, ...] = ()
    effective_on: date | None = Field(default=None, description="from when it applies")


class ContributionWithdrawn(_Contribution):
    """An agency withdrew its contribution; it no longer appears in the plan."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **{k: _EXAMPLE[k] for k in ("contribution_id", "child_id", "section")},
                    **{k: _EXAMPLE[k] for k in ("data_class", "author", "agency")},
                    "reason": "superseded by the annual review's advice",
                }
            ]
        }
    )
    type_pattern: ClassVar[str] = "oneplan.*.contribution.withdrawn"

    reason: str | None = None


class DisclosureRecorded(Event):
    """Information owned by one agency was shown to a person of another agency."""

    type_pattern: ClassVar[str] = "oneplan.*.disclosure.recorded"

    disclosure_id: UUID
    child_id: UUID
    owner_agency: str = Field(min_length=1, max_length=63)
    recipient_agency: str = Field(min_length=1, max_length=63)
    recipient: str = Field(
        min_length=1, max_length=255, description="the reader's subject (JWT sub)"
    )
    data_classes: tuple[DataClass, ...] = Field(min_length=1)
    purpose: str = Field(min_length=1, max_length=63)
    basis: DisclosureBasis
    reference_id: UUID | None = Field(
        default=None, description="the consent, override or duty record that permitted it"
    )
    disclosed_at: AwareDatetime


class ContributionEvents(NamedTuple):
    """One service's contribution event models."""

    submitted: type[ContributionSubmitted]
    revised: type[ContributionRevised]
    withdrawn: type[ContributionWithdrawn]


# One class per (service, base), shared by every catalogue, so isinstance and identity hold
# across services in one process.
_CLASSES: dict[tuple[str, type[Event]], type[Event]] = {}


def _model_name(service: str, base: type[Event]) -> str:
    return "".join(part.title() for part in service.split("_")) + base.__name__


def _class_for(service: str, base: type[M]) -> type[M]:
    key = (service, base)
    if key not in _CLASSES:
        # A class per service: the registered type string is a class attribute.
        _CLASSES[key] = type(
            _model_name(service, base), (base,), {"__module__": __name__, "__doc__": base.__doc__}
        )
    model = _CLASSES[key]
    assert issubclass(model, base)
    return model


def _register(
    catalogue: Catalogue, event_type: str, data_class: DataClass | None, base: type[M]
) -> type[M]:
    model = _class_for(event_type.split(".")[1], base)
    # Registering declares it, also when the catalogue already met it while decoding.
    if event_type not in catalogue or not catalogue.info(event_type).declared:
        summary = f"{event_type.split('.')[1]}: {(base.__doc__ or '').strip()}"
        if catalogue.service in (None, event_type.split(".")[1]):
            catalogue.register(event_type, data_class, summary=summary)(model)
        else:
            catalogue.add_generic_reader(event_type, model, data_class, summary)
    registered = catalogue.model(event_type)
    if not issubclass(registered, base):
        raise TypeError(
            f"{event_type} is registered with {registered.__name__}, not a {base.__name__}"
        )
    return registered  # type: ignore[return-value]


def register_contribution_events(
    service: str, catalogue: Catalogue | None = None
) -> ContributionEvents:
    """The models of ``oneplan.<service>.contribution.submitted|revised|withdrawn``, registered
    in ``catalogue`` when one is given."""
    if catalogue is None:
        return ContributionEvents(
            _class_for(service, ContributionSubmitted),
            _class_for(service, ContributionRevised),
            _class_for(service, ContributionWithdrawn),
        )
    prefix = f"oneplan.{service}.contribution"
    return ContributionEvents(
        submitted=_register(catalogue, f"{prefix}.submitted", None, ContributionSubmitted),
        revised=_register(catalogue, f"{prefix}.revised", None, ContributionRevised),
        withdrawn=_register(catalogue, f"{prefix}.withdrawn", None, ContributionWithdrawn),
    )


def register_disclosure_event(
    service: str, catalogue: Catalogue | None = None
) -> type[DisclosureRecorded]:
    """The model of ``oneplan.<service>.disclosure.recorded``, registered in ``catalogue``
    when one is given."""
    if catalogue is None:
        return _class_for(service, DisclosureRecorded)
    event_type = f"oneplan.{service}.disclosure.recorded"
    return _register(catalogue, event_type, DataClass.CONSENT, DisclosureRecorded)


GENERIC_FAMILIES.append(
    (
        re.compile(rf"^oneplan\.{_SERVICE}\.contribution\.(submitted|revised|withdrawn)$"),
        lambda catalogue, service: register_contribution_events(service, catalogue),
    )
)
GENERIC_FAMILIES.append(
    (
        re.compile(rf"^oneplan\.{_SERVICE}\.disclosure\.recorded$"),
        lambda catalogue, service: register_disclosure_event(service, catalogue),
    )
)
