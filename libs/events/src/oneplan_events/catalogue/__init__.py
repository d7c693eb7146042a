"""The event catalogue: every OnePlan event type, the shared contract.

Importing this package registers every event type: the generic contribution and disclosure
events of each agency service, then each service's own module.
"""

from oneplan_events.catalogue._base import (
    CATALOGUE,
    Catalogue,
    DataClass,
    Event,
    EventType,
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
    PlanSection,
    register_contribution_events,
    register_disclosure_event,
)

# Agencies that add to the shared plan, and every service that discloses across agencies:
# registered here so the AsyncAPI document shows their generic events.
CONTRIBUTING_SERVICES = ("children", "plans", "referrals", "socialcare", "transport")
DISCLOSING_SERVICES = ("children", "consent", "plans", "referrals", "socialcare", "transport")
for _service in CONTRIBUTING_SERVICES:
    register_contribution_events(_service)
for _service in DISCLOSING_SERVICES:
    register_disclosure_event(_service)

# Imported for their registrations; each service owns its module's content.
from oneplan_events.catalogue import children, consent  # noqa: E402

__all__ = [
    "CATALOGUE",
    "CONTRIBUTING_SERVICES",
    "DISCLOSING_SERVICES",
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
    "PlanSection",
    "UnknownEventType",
    "UnsupportedSchemaVersion",
    "Upcaster",
    "children",
    "consent",
    "register_contribution_events",
    "register_disclosure_event",
]
