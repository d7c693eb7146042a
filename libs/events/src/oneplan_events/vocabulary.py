"""The words every OnePlan service shares, each defined once: data classes, plan sections,
purposes, agencies and practitioners' roles.

Services and integrators name these in events, consents, tokens and API bodies; nothing here
belongs to one service. The kit's access policies (:mod:`oneplan_kit.access`) and a
service's own domain rules (who is shown a record) read the same roles.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

__all__ = [
    "AGENCY_PATTERN",
    "KNOWN_AGENCIES",
    "PRACTITIONER_ROLES",
    "Agency",
    "DataClass",
    "PlanSection",
    "Purpose",
    "Role",
    "is_agency_name",
]


class DataClass(StrEnum):
    """The class of information an event carries; consent is given per data class."""

    IDENTITY = "identity"
    STORY = "story"
    EDUCATION = "education"
    HEALTH = "health"
    SOCIAL_CARE = "social_care"
    TRANSPORT = "transport"
    CONSENT = "consent"


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


class Purpose(StrEnum):
    """What the recipient of shared information will use it for."""

    EHC_ASSESSMENT = "ehc_assessment"
    PLAN_DELIVERY = "plan_delivery"
    TRANSPORT_PLANNING = "transport_planning"
    EARLY_HELP = "early_help"
    HEALTH_CARE = "health_care"
    REVIEW = "review"


class Agency(StrEnum):
    """The agencies every deployment knows; an integrator's agency is any other valid name."""

    SEND = "send"
    SCHOOL = "school"
    HEALTH = "health"
    SOCIAL_CARE = "social_care"
    TRANSPORT = "transport"
    FAMILY = "family"


KNOWN_AGENCIES: Final = frozenset(agency.value for agency in Agency)
"""The built-in agency names; deployments add integrators' names through settings."""

AGENCY_PATTERN: Final = r"^[a-z][a-z0-9_]{0,62}$"
"""What an agency name looks like: a lower-case identifier of at most 63 characters."""

_AGENCY = re.compile(AGENCY_PATTERN)


def is_agency_name(value: str) -> bool:
    """True when ``value`` is shaped like an agency name (known or an integrator's)."""
    return bool(_AGENCY.fullmatch(value))


class Role(StrEnum):
    """The roles a practitioner's token may carry (claim ``roles``)."""

    CASEWORKER = "caseworker"
    MANAGER = "manager"
    ADMIN = "admin"
    PRACTITIONER = "practitioner"
    SAFEGUARDING_LEAD = "safeguarding_lead"
    DATA_PROTECTION_OFFICER = "data_protection_officer"
    SENCO = "senco"
    CLINICIAN = "clinician"
    SOCIAL_WORKER = "social_worker"
    TRANSPORT_OFFICER = "transport_officer"


PRACTITIONER_ROLES: Final = frozenset(role.value for role in Role)
"""Every known role: a non-family token reads a child's data only with one of them (a token
with no role, or only unknown ones, reads nothing)."""
