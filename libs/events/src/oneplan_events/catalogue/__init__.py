"""The event catalogue machinery: typed, versioned events, one :class:`Catalogue` per service.

Each service owns its catalogue module (``oneplan_<service>.events``) and names it in its
service definition; this package holds only what every service shares: the base classes,
the generic families (contributions to the shared plan, disclosures) and the vocabulary.
"""

from oneplan_events.catalogue._base import (
    Catalogue,
    Event,
    EventType,
    ForeignEvent,
    UnknownEventType,
    UnsupportedSchemaVersion,
    Upcaster,
)
from oneplan_events.catalogue.shared import (
    ContributionEvents,
    ContributionRevised,
    ContributionSubmitted,
    ContributionWithdrawn,
    DisclosureBasis,
    DisclosureRecorded,
    register_contribution_events,
    register_disclosure_event,
)
from oneplan_events.vocabulary import DataClass, PlanSection, Purpose

__all__ = [
    "Catalogue",
    "ContributionEvents",
    "ContributionRevised",
    "ContributionSubmitted",
    "ContributionWithdrawn",
    "DataClass",
    "DisclosureBasis",
    "DisclosureRecorded",
    "Event",
    "EventType",
    "ForeignEvent",
    "PlanSection",
    "Purpose",
    "UnknownEventType",
    "UnsupportedSchemaVersion",
    "Upcaster",
    "register_contribution_events",
    "register_disclosure_event",
]
