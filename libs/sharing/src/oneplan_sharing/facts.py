"""The facts a sharing decision rests on, as every consent replica reads them.

The consent service publishes consents, overrides and duties as events; each replica needs
only the fields that decide who may see what. These tolerant readers are those fields, defined
once: the consent service's own (strict, complete) event models extend them, so a field the
decision depends on can never differ between the publisher and the replicas.
"""

from __future__ import annotations

from typing import Final
from uuid import UUID

from pydantic import AwareDatetime, Field

from oneplan_events.catalogue import Catalogue, ForeignEvent
from oneplan_events.vocabulary import DataClass, Purpose

__all__ = [
    "CONSENT_GIVEN",
    "REPLICA_CATALOGUE",
    "ConsentEnd",
    "ConsentExpiry",
    "ConsentGrant",
    "ConsentWithdrawal",
    "DutyEnd",
    "DutyGrant",
    "OverrideEnd",
    "OverrideGrant",
]

REPLICA_CATALOGUE: Final = Catalogue()
"""Decodes the consent stream for a replica: the readers below, nothing else."""

CONSENT_GIVEN: Final = "oneplan.consent.consent.given"

_Agencies = Field(min_length=1, max_length=20)
_DataClasses = Field(min_length=1, max_length=7)
_Purposes = Field(min_length=1, max_length=6)


@REPLICA_CATALOGUE.reads(CONSENT_GIVEN, DataClass.CONSENT)
class ConsentGrant(ForeignEvent):
    """What a consent permits: owners to recipients, for data classes and purposes, when."""

    consent_id: UUID
    child_id: UUID
    owner_agencies: tuple[str, ...] = _Agencies
    recipient_agencies: tuple[str, ...] = _Agencies
    data_classes: tuple[DataClass, ...] = _DataClasses
    purposes: tuple[Purpose, ...] = _Purposes
    valid_from: AwareDatetime
    valid_until: AwareDatetime


class ConsentEnd(ForeignEvent):
    """A consent stops permitting (withdrawn or expired)."""

    consent_id: UUID
    child_id: UUID


@REPLICA_CATALOGUE.reads("oneplan.consent.consent.withdrawn", DataClass.CONSENT)
class ConsentWithdrawal(ConsentEnd):
    """A consent was withdrawn."""


@REPLICA_CATALOGUE.reads("oneplan.consent.consent.expired", DataClass.CONSENT)
class ConsentExpiry(ConsentEnd):
    """A consent reached its end date."""


@REPLICA_CATALOGUE.reads("oneplan.consent.override.recorded", DataClass.CONSENT)
class OverrideGrant(ForeignEvent):
    """What a safeguarding override releases, to whom, and when."""

    override_id: UUID
    child_id: UUID
    recipient_agencies: tuple[str, ...] = _Agencies
    data_classes: tuple[DataClass, ...] = _DataClasses
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    hide_from_family: bool


@REPLICA_CATALOGUE.reads("oneplan.consent.override.ended", DataClass.CONSENT)
class OverrideEnd(ForeignEvent):
    """A safeguarding override was ended early."""

    override_id: UUID
    child_id: UUID


@REPLICA_CATALOGUE.reads("oneplan.consent.duty.recorded", DataClass.CONSENT)
class DutyGrant(ForeignEvent):
    """What a statutory duty to share requires: owners to recipients, for what, when."""

    duty_id: UUID
    child_id: UUID
    owner_agencies: tuple[str, ...] = _Agencies
    recipient_agencies: tuple[str, ...] = _Agencies
    data_classes: tuple[DataClass, ...] = _DataClasses
    purposes: tuple[Purpose, ...] = _Purposes
    valid_from: AwareDatetime
    valid_until: AwareDatetime | None = None


@REPLICA_CATALOGUE.reads("oneplan.consent.duty.ended", DataClass.CONSENT)
class DutyEnd(ForeignEvent):
    """A statutory duty no longer applies."""

    duty_id: UUID
    child_id: UUID
