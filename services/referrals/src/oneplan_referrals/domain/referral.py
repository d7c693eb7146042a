"""A referral as a decider: received, triaged, appointments, discharged (streams
`referral/<id>`).

Pure: the instant is an argument; the directory and the known children are checked by the
handler before a command reaches `decide`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import assert_never
from uuid import UUID

from oneplan_events.catalogue import Event
from oneplan_events.clock import local_date
from oneplan_referrals.domain.commands import (
    AcceptReferral,
    BookAppointment,
    CancelAppointment,
    DeclineReferral,
    DischargeReferral,
    ReceiveReferral,
    RecordAttendance,
    RecordDidNotAttend,
    RedirectReferral,
    ReferralCommand,
)
from oneplan_referrals.domain.errors import (
    AlreadyRecorded,
    AppointmentNotFound,
    InvalidInput,
    NotFound,
    WrongState,
)
from oneplan_referrals.events import (
    AppointmentAttended,
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentMissed,
    CancelledBy,
    DischargeOutcome,
    ReferralAccepted,
    ReferralDeclined,
    ReferralDischarged,
    ReferralReceived,
    ReferralRedirected,
    Urgency,
)

__all__ = [
    "REFERRAL",
    "Appointment",
    "AppointmentStatus",
    "Referral",
    "ReferralDecider",
    "ReferralStatus",
    "decide",
    "evolve",
]


class ReferralStatus(StrEnum):
    """Where a referral is: awaiting triage, accepted (waiting or being seen), or closed."""

    RECEIVED = "received"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    DISCHARGED = "discharged"

    @property
    def open(self) -> bool:
        """Whether the referral is still open (awaiting triage or accepted)."""
        return self in (ReferralStatus.RECEIVED, ReferralStatus.ACCEPTED)


class AppointmentStatus(StrEnum):
    """What became of an appointment."""

    BOOKED = "booked"
    ATTENDED = "attended"
    DID_NOT_ATTEND = "did_not_attend"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Appointment:
    """One appointment of a referral."""

    appointment_id: UUID
    booked_on: date
    appointment_on: date
    status: AppointmentStatus = AppointmentStatus.BOOKED
    cancelled_by: CancelledBy | None = None
    cancelled_on: date | None = None


@dataclass(frozen=True)
class Referral:
    """A referral after `version` events."""

    referral_id: UUID
    child_id: UUID
    service_id: UUID
    referrer_agency: str
    urgency: Urgency
    received_on: date
    status: ReferralStatus = ReferralStatus.RECEIVED
    redirected_from: tuple[UUID, ...] = ()
    accepted_on: date | None = None
    closed_on: date | None = None
    outcome: DischargeOutcome | None = None
    signposted_to: tuple[UUID, ...] = ()
    appointments: tuple[Appointment, ...] = ()
    version: int = 1

    def appointment(self, appointment_id: UUID) -> Appointment:
        """The appointment with this id (:class:`AppointmentNotFound` otherwise)."""
        for appointment in self.appointments:
            if appointment.appointment_id == appointment_id:
                return appointment
        raise AppointmentNotFound(
            f"referral {self.referral_id} has no appointment {appointment_id}"
        )

    def with_appointment(self, changed: Appointment) -> tuple[Appointment, ...]:
        """The appointments with ``changed`` in place of the one of the same id."""
        return tuple(
            changed if a.appointment_id == changed.appointment_id else a for a in self.appointments
        )


def _not_before_received(state: Referral, field: str, value: date) -> None:
    if value < state.received_on:
        raise InvalidInput(
            field,
            f"{value.isoformat()} is before the referral was received on "
            f"{state.received_on.isoformat()}",
        )


def _awaiting_triage(state: Referral) -> None:
    if state.status is not ReferralStatus.RECEIVED:
        raise WrongState(
            f"referral {state.referral_id} is {state.status.value}, not awaiting triage"
        )


def _accepted(state: Referral, doing: str) -> None:
    if state.status is not ReferralStatus.ACCEPTED:
        raise WrongState(
            f"referral {state.referral_id} is {state.status.value}: only an accepted referral "
            f"can {doing}"
        )


def _booked(state: Referral, appointment_id: UUID) -> Appointment:
    _accepted(state, "record what happened at an appointment")
    appointment = state.appointment(appointment_id)
    if appointment.status is not AppointmentStatus.BOOKED:
        raise WrongState(f"appointment {appointment_id} is {appointment.status.value} already")
    return appointment


def _took_place(appointment: Appointment, now: datetime) -> None:
    if appointment.appointment_on > local_date(now):
        raise WrongState(
            f"appointment {appointment.appointment_id} is on "
            f"{appointment.appointment_on.isoformat()}: it has not taken place yet"
        )


def _receive(state: Referral | None, command: ReceiveReferral) -> list[Event]:
    if state is not None:
        raise AlreadyRecorded(f"referral {command.referral_id} is recorded already")
    return [ReferralReceived(**dataclasses.asdict(command))]


def _decide_on(state: Referral, command: ReferralCommand, now: datetime) -> list[Event]:
    ids = {"referral_id": state.referral_id, "child_id": state.child_id}
    match command:
        case ReceiveReferral():
            return _receive(state, command)
        case AcceptReferral(on=on):
            _awaiting_triage(state)
            _not_before_received(state, "accepted_on", on)
            return [ReferralAccepted(**ids, service_id=state.service_id, accepted_on=on)]
        case RedirectReferral(to_service_id=to, on=on):
            _awaiting_triage(state)
            _not_before_received(state, "redirected_on", on)
            if to == state.service_id:
                raise InvalidInput("to_service_id", "the referral is with that service already")
            return [
                ReferralRedirected(
                    **ids, from_service_id=state.service_id, to_service_id=to, redirected_on=on
                )
            ]
        case DeclineReferral(on=on, signposted_to=signposted):
            _awaiting_triage(state)
            _not_before_received(state, "declined_on", on)
            return [
                ReferralDeclined(
                    **ids, service_id=state.service_id, declined_on=on, signposted_to=signposted
                )
            ]
        case BookAppointment():
            _accepted(state, "have appointments booked")
            _not_before_received(state, "booked_on", command.booked_on)
            _not_before_received(state, "appointment_on", command.appointment_on)
            if any(a.appointment_id == command.appointment_id for a in state.appointments):
                raise AlreadyRecorded(f"appointment {command.appointment_id} is booked already")
            return [
                AppointmentBooked(
                    **ids,
                    appointment_id=command.appointment_id,
                    service_id=state.service_id,
                    booked_on=command.booked_on,
                    appointment_on=command.appointment_on,
                )
            ]
        case RecordAttendance(appointment_id=appointment_id):
            appointment = _booked(state, appointment_id)
            _took_place(appointment, now)
            return [
                AppointmentAttended(
                    **ids, appointment_id=appointment_id, attended_on=appointment.appointment_on
                )
            ]
        case RecordDidNotAttend(appointment_id=appointment_id):
            appointment = _booked(state, appointment_id)
            _took_place(appointment, now)
            return [
                AppointmentMissed(
                    **ids, appointment_id=appointment_id, missed_on=appointment.appointment_on
                )
            ]
        case CancelAppointment(appointment_id=appointment_id, by=by, on=on):
            appointment = _booked(state, appointment_id)
            _not_before_received(state, "cancelled_on", on)
            return [
                AppointmentCancelled(
                    **ids,
                    appointment_id=appointment.appointment_id,
                    cancelled_by=by,
                    cancelled_on=on,
                )
            ]
        case DischargeReferral(on=on, outcome=outcome):
            _accepted(state, "be discharged")
            assert state.accepted_on is not None
            if on < state.accepted_on:
                raise InvalidInput(
                    "discharged_on",
                    f"{on.isoformat()} is before the referral was accepted on "
                    f"{state.accepted_on.isoformat()}",
                )
            return [
                ReferralDischarged(
                    **ids, service_id=state.service_id, discharged_on=on, outcome=outcome
                )
            ]
        case _:
            assert_never(command)


def decide(state: Referral | None, command: ReferralCommand, now: datetime) -> Sequence[Event]:
    """The events that carry out `command` on `state`, or a DomainError; never any I/O."""
    if isinstance(command, ReceiveReferral):
        return _receive(state, command)
    if state is None:
        raise NotFound("no such referral")
    return _decide_on(state, command, now)


def _evolve_appointment(state: Referral, event: Event) -> Referral:
    match event:
        case AppointmentBooked():
            booked = Appointment(event.appointment_id, event.booked_on, event.appointment_on)
            return dataclasses.replace(state, appointments=(*state.appointments, booked))
        case AppointmentAttended():
            seen = dataclasses.replace(
                state.appointment(event.appointment_id), status=AppointmentStatus.ATTENDED
            )
            return dataclasses.replace(state, appointments=state.with_appointment(seen))
        case AppointmentMissed():
            missed = dataclasses.replace(
                state.appointment(event.appointment_id), status=AppointmentStatus.DID_NOT_ATTEND
            )
            return dataclasses.replace(state, appointments=state.with_appointment(missed))
        case AppointmentCancelled():
            cancelled = dataclasses.replace(
                state.appointment(event.appointment_id),
                status=AppointmentStatus.CANCELLED,
                cancelled_by=event.cancelled_by,
                cancelled_on=event.cancelled_on,
            )
            return dataclasses.replace(state, appointments=state.with_appointment(cancelled))
    raise ValueError(f"{type(event).__name__} is not an event of a referral")


def _evolve(state: Referral, event: Event) -> Referral:
    match event:
        case ReferralAccepted():
            return dataclasses.replace(
                state, status=ReferralStatus.ACCEPTED, accepted_on=event.accepted_on
            )
        case ReferralRedirected():
            return dataclasses.replace(
                state,
                service_id=event.to_service_id,
                redirected_from=(*state.redirected_from, event.from_service_id),
            )
        case ReferralDeclined():
            return dataclasses.replace(
                state,
                status=ReferralStatus.DECLINED,
                closed_on=event.declined_on,
                signposted_to=event.signposted_to,
            )
        case ReferralDischarged():
            return dataclasses.replace(
                state,
                status=ReferralStatus.DISCHARGED,
                closed_on=event.discharged_on,
                outcome=event.outcome,
            )
    return _evolve_appointment(state, event)


def evolve(state: Referral | None, event: Event) -> Referral | None:
    """The referral after `event`."""
    if isinstance(event, ReferralReceived):
        return Referral(
            referral_id=event.referral_id,
            child_id=event.child_id,
            service_id=event.service_id,
            referrer_agency=event.referrer_agency,
            urgency=event.urgency,
            received_on=event.received_on,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before the referral was received")
    return dataclasses.replace(_evolve(state, event), version=state.version + 1)


class ReferralDecider:
    """A referral for the kit: streams `referral/<referral id>`."""

    stream_prefix = "referral"

    def initial_state(self) -> Referral | None:
        """No referral yet."""
        return None

    def decide(
        self, state: Referral | None, command: ReferralCommand, now: datetime
    ) -> Sequence[Event]:
        """:func:`decide`."""
        return decide(state, command, now)

    def evolve(self, state: Referral | None, event: Event) -> Referral | None:
        """:func:`evolve`."""
        return evolve(state, event)


REFERRAL = ReferralDecider()
"""A referral, as the kit runs it."""
