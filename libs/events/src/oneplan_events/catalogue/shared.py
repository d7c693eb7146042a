"""Generic events any agency service publishes: contributions to the plan and disclosures.

Each service gets its own types (``oneplan.<service>.contribution.submitted`` ...) built from
the base models here, so a consumer can match any service's contribution with
``isinstance(event, ContributionSubmitted)``. A type of these families from a service the
catalogue has never heard of is registered on first sight, so a new agency's contributions
decode without a catalogue change.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, NamedTuple, TypeVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from oneplan_events.catalogue._base import CATALOGUE, DataClass, Event

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


class PlanSection(StrEnum):
    """EHC plan sections (SEND Code of Practice 9.62)."""

    A = "A"  # views, interests and aspirations
    B = "B"  # special educational needs
    C = "C"  # health needs
    D = "D"  # social care needs
    E = "E"  # outcomes
    F = "F"  # special educational provision
    G = "G"  # health provision
    H1 = "H1"  # social care provision under the CSDPA 1970
    H2 = "H2"  # other social care provision
    I = "I"  # placement  # noqa: E741 - the Code of Practice's own section letter
    J = "J"  # personal budget
    K = "K"  # advice and information


DisclosureBasis = Literal["own_data", "consent", "override", "statutory_duty"]


class _Contribution(Event):
    contribution_id: UUID
    child_id: UUID
    section: PlanSection
    # The contribution's own data class, which consent decisions are taken on; it replaces
    # the per-type class attribute for this family (registered with data_class=None).
    data_class: DataClass  # type: ignore[misc]  # instance field deliberately shadows ClassVar
    author: str = Field(min_length=1)
    agency: str = Field(min_length=1)


class ContributionSubmitted(_Contribution):
    """An agency added a contribution to a section of the child's plan."""

    title: str = Field(min_length=1)
    content: str
    outcomes: tuple[str, ...] = ()


class ContributionRevised(_Contribution):
    """An agency replaced the content of its earlier contribution."""

    title: str = Field(min_length=1)
    content: str
    outcomes: tuple[str, ...] = ()


class ContributionWithdrawn(_Contribution):
    """An agency withdrew its contribution; it no longer appears in the plan."""

    reason: str | None = None


class DisclosureRecorded(Event):
    """Information owned by one agency was shown to a person of another agency."""

    disclosure_id: UUID
    child_id: UUID
    owner_agency: str = Field(min_length=1)
    recipient_agency: str = Field(min_length=1)
    recipient: str = Field(min_length=1, description="the reader's subject (JWT sub)")
    data_classes: tuple[DataClass, ...] = Field(min_length=1)
    purpose: str = Field(min_length=1)
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


def _model_name(service: str, base: type[Event]) -> str:
    return "".join(part.title() for part in service.split("_")) + base.__name__


def _subclass(service: str, base: type[M]) -> type[M]:
    # A class per service: the registered type string is a class attribute.
    return type(
        _model_name(service, base), (base,), {"__module__": __name__, "__doc__": base.__doc__}
    )


def register_contribution_events(service: str) -> ContributionEvents:
    """Register (once) ``oneplan.<service>.contribution.submitted|revised|withdrawn``."""
    prefix = f"oneplan.{service}.contribution"
    if f"{prefix}.submitted" not in CATALOGUE:
        for name, base in (
            ("submitted", ContributionSubmitted),
            ("revised", ContributionRevised),
            ("withdrawn", ContributionWithdrawn),
        ):
            CATALOGUE.register(
                f"{prefix}.{name}", None, summary=f"{service}: {(base.__doc__ or '').strip()}"
            )(_subclass(service, base))
    return ContributionEvents(
        submitted=_registered(f"{prefix}.submitted", ContributionSubmitted),
        revised=_registered(f"{prefix}.revised", ContributionRevised),
        withdrawn=_registered(f"{prefix}.withdrawn", ContributionWithdrawn),
    )


def register_disclosure_event(service: str) -> type[DisclosureRecorded]:
    """Register (once) ``oneplan.<service>.disclosure.recorded``."""
    event_type = f"oneplan.{service}.disclosure.recorded"
    if event_type not in CATALOGUE:
        CATALOGUE.register(
            event_type,
            DataClass.CONSENT,
            summary=f"{service}: {(DisclosureRecorded.__doc__ or '').strip()}",
        )(_subclass(service, DisclosureRecorded))
    return _registered(event_type, DisclosureRecorded)


def _registered(event_type: str, base: type[M]) -> type[M]:
    model = CATALOGUE.model(event_type)
    if not issubclass(model, base):
        raise TypeError(f"{event_type} is registered with {model.__name__}, not a {base.__name__}")
    return model


CATALOGUE.family(
    rf"^oneplan\.{_SERVICE}\.contribution\.(submitted|revised|withdrawn)$",
    register_contribution_events,
)
CATALOGUE.family(rf"^oneplan\.{_SERVICE}\.disclosure\.recorded$", register_disclosure_event)
