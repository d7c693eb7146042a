"""The catalogue registers typed events, upcasts old versions on read, refuses what it can't."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from pydantic import ValidationError

from oneplan_events.catalogue import (
    Catalogue,
    ContributionSubmitted,
    DataClass,
    DisclosureRecorded,
    Event,
    ForeignEvent,
    PlanSection,
    UnknownEventType,
    UnsupportedSchemaVersion,
    register_contribution_events,
    register_disclosure_event,
)
from oneplan_events.envelope import Envelope, MalformedEvent

ASSESSED = "oneplan.testing.need.assessed"
# A catalogue of no single service: it publishes the generic families of any.
CATALOGUE = Catalogue()


def three_version_catalogue() -> Catalogue:
    """v1 {name}; v2 split into given/family names; v3 added a score defaulting to 0."""
    catalogue = Catalogue()

    @catalogue.register(ASSESSED, DataClass.EDUCATION, version=3, summary="A need was assessed.")
    class NeedAssessed(Event):
        given_name: str
        family_name: str
        score: int

    @catalogue.upcaster(ASSESSED, from_version=1)
    def split_name(data: dict[str, Any]) -> dict[str, Any]:
        given, _, family = data.pop("name").partition(" ")
        return {**data, "given_name": given, "family_name": family}

    @catalogue.upcaster(ASSESSED, from_version=2)
    def add_score(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "score": 0}

    return catalogue


def test_upcasting_chains_v1_to_v3_without_touching_the_stored_data() -> None:
    catalogue = three_version_catalogue()
    stored = {"name": "Alex Example"}
    event = catalogue.decode(ASSESSED, 1, stored)
    assert event.model_dump() == {"given_name": "Alex", "family_name": "Example", "score": 0}
    assert stored == {"name": "Alex Example"}
    from_v2 = catalogue.decode(ASSESSED, 2, {"given_name": "A", "family_name": "B"})
    assert from_v2.model_dump()["score"] == 0
    current = catalogue.decode(ASSESSED, 3, {"given_name": "A", "family_name": "B", "score": 4})
    assert current.model_dump()["score"] == 4
    assert catalogue.missing_upcasters() == []


@pytest.mark.parametrize("version", [0, 4])
def test_versions_outside_the_chain_are_refused(version: int) -> None:
    with pytest.raises(UnsupportedSchemaVersion, match=f"v{version} is not between v1"):
        three_version_catalogue().decode(ASSESSED, version, {})


def test_a_missing_upcaster_is_reported() -> None:
    catalogue = Catalogue()

    @catalogue.register(ASSESSED, DataClass.EDUCATION, version=2, summary="s")
    class NeedAssessed(Event):
        x: int

    assert catalogue.missing_upcasters() == [f"{ASSESSED} v1->v2"]
    with pytest.raises(UnsupportedSchemaVersion, match="no upcaster from v1 to v2"):
        catalogue.decode(ASSESSED, 1, {"x": 1})


def test_a_service_catalogue_publishes_only_its_own_types() -> None:
    catalogue = Catalogue("plans")
    with pytest.raises(ValueError, match="register a reader"):
        catalogue.register("oneplan.children.child.registered", DataClass.IDENTITY, summary="s")


def test_a_reader_takes_what_it_needs_and_ignores_the_rest() -> None:
    catalogue = Catalogue("transport")

    @catalogue.reads("oneplan.plans.plan.issued", DataClass.EDUCATION)
    class PlanIssued(ForeignEvent):
        child_id: uuid.UUID

    child = uuid.uuid4()
    event = catalogue.decode(
        "oneplan.plans.plan.issued", 3, {"child_id": str(child), "setting": {"urn": "100001"}}
    )
    assert isinstance(event, PlanIssued)
    assert event.child_id == child  # a newer version, and fields the reader does not know
    assert [info.name for info in catalogue.readers()] == ["oneplan.plans.plan.issued"]
    assert catalogue.published() == []
    with pytest.raises(ValidationError, match="child_id"):
        catalogue.decode("oneplan.plans.plan.issued", 1, {"setting": "none"})
    with pytest.raises(ValueError, match="not a published model"):
        catalogue.envelope_for(event, source="/oneplan/transport", subject=None)


def test_a_reader_must_be_tolerant() -> None:
    with pytest.raises(TypeError, match="ForeignEvent"):

        @Catalogue("transport").reads("oneplan.plans.plan.issued", DataClass.EDUCATION)
        class Strict(Event):
            child_id: uuid.UUID


def test_a_generic_family_of_another_service_is_read_not_published() -> None:
    plans = Catalogue("plans")
    event = plans.decode("oneplan.referrals.contribution.submitted", 1, contribution())
    assert isinstance(event, ContributionSubmitted)
    # read, but not declared: plans' contract lists no reader it never named
    assert plans.info("oneplan.referrals.contribution.revised").declared is False
    assert plans.readers() == []
    assert plans.published() == []
    register_contribution_events("referrals", plans)
    assert [info.name for info in plans.readers()] == [
        "oneplan.referrals.contribution.revised",
        "oneplan.referrals.contribution.submitted",
        "oneplan.referrals.contribution.withdrawn",
    ]
    # The same class as the referrals service's own catalogue uses: isinstance holds.
    referrals = Catalogue("referrals")
    model = register_contribution_events("referrals", referrals).submitted
    assert type(event) is model
    assert [info.name for info in referrals.published()] == [
        "oneplan.referrals.contribution.revised",
        "oneplan.referrals.contribution.submitted",
        "oneplan.referrals.contribution.withdrawn",
    ]


def test_a_family_of_its_own_is_read_by_that_catalogue_only() -> None:
    plans = Catalogue("plans")

    class AdviceSubmitted(ForeignEvent):
        advice_request_id: uuid.UUID

    def register(catalogue: Catalogue, service: str) -> None:
        catalogue.add_generic_reader(
            f"oneplan.{service}.advice.submitted", AdviceSubmitted, DataClass.HEALTH, "advice"
        )

    plans.reads_family(r"^oneplan\.(?P<service>[a-z_]+)\.advice\.submitted$", register)
    request = uuid.uuid4()
    event = plans.decode(
        "oneplan.housing.advice.submitted", 1, {"advice_request_id": str(request), "x": 1}
    )
    assert isinstance(event, AdviceSubmitted)
    assert event.advice_request_id == request
    assert plans.info("oneplan.housing.advice.submitted").declared is False
    # Another catalogue in the same process has not learnt the family.
    with pytest.raises(UnknownEventType):
        Catalogue("transport").info("oneplan.housing.advice.submitted")
    with pytest.raises(ValueError, match="service"):
        plans.reads_family(r"^oneplan\.[a-z]+\.advice\.submitted$", register)


def test_unknown_type_and_extra_fields_are_refused() -> None:
    catalogue = three_version_catalogue()
    with pytest.raises(UnknownEventType, match=r"oneplan\.testing\.need\.forgotten"):
        catalogue.decode("oneplan.testing.need.forgotten", 1, {})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        catalogue.decode(ASSESSED, 3, {"given_name": "A", "family_name": "B", "score": 1, "x": 2})
    with pytest.raises(ValidationError, match="Field required"):
        catalogue.decode(ASSESSED, 3, {"given_name": "A"})


def test_events_are_frozen() -> None:
    event = three_version_catalogue().decode(ASSESSED, 1, {"name": "A B"})
    with pytest.raises(ValidationError, match="frozen"):
        event.score = 3  # type: ignore[attr-defined]  # the model is built inside a helper


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("plans.plan.issued", "must match"),
        ("oneplan.plans.issued", "must match"),
        ("oneplan.Plans.plan.issued", "must match"),
        ("oneplan.plans.plan.issue", "past-tense"),
        ("oneplan.plans.plan.issue_date", "past-tense"),
    ],
)
def test_type_names_are_checked(name: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Catalogue().register(name, DataClass.EDUCATION, summary="s")


@pytest.mark.parametrize(
    "name",
    ["oneplan.plans.plan.issued", "oneplan.plans.advice.given", "oneplan.consent.consent.withdrawn",
     "oneplan.plans.letter.sent", "oneplan.plans.review_meeting.held"],
)  # fmt: skip
def test_past_tense_names_are_accepted(name: str) -> None:
    Catalogue().register(name, DataClass.EDUCATION, summary="s")


def test_registering_a_type_twice_is_refused() -> None:
    catalogue = three_version_catalogue()
    with pytest.raises(ValueError, match="already registered"):
        catalogue.register(ASSESSED, DataClass.EDUCATION, summary="again")(Event)


def test_json_schema_export() -> None:
    schema = three_version_catalogue().json_schema(ASSESSED)
    assert schema["$id"] == f"urn:oneplan:event:{ASSESSED}:v3"
    assert schema["title"] == ASSESSED
    assert schema["description"] == "A need was assessed."
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"given_name", "family_name", "score"}


def contribution(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "contribution_id": str(uuid.uuid4()),
        "child_id": str(uuid.uuid4()),
        "section": "H1",
        "data_class": "social_care",
        "title": "Short breaks",
        "content": "Two overnight short breaks a month.",
        "outcomes": ["Enjoys time with friends"],
        "author": "worker-7",
        "agency": "socialcare",
    }
    values.update(overrides)
    return values


def test_contribution_events_carry_their_own_data_class() -> None:
    models = register_contribution_events("socialcare", CATALOGUE)
    event = CATALOGUE.decode("oneplan.socialcare.contribution.submitted", 1, contribution())
    assert isinstance(event, models.submitted)
    assert isinstance(event, ContributionSubmitted)
    assert event.section is PlanSection.H1
    envelope = CATALOGUE.envelope_for(event, source="/oneplan/socialcare", subject="c/1")
    assert envelope.dataclass == "social_care"
    assert envelope.childid == str(event.child_id)
    assert register_contribution_events("socialcare", CATALOGUE) == models


def test_plain_h_is_not_a_section() -> None:
    with pytest.raises(ValidationError, match="section"):
        CATALOGUE.decode("oneplan.referrals.contribution.submitted", 1, contribution(section="H"))


def test_a_new_agencys_contribution_decodes_without_a_catalogue_change() -> None:
    event = CATALOGUE.decode("oneplan.housingtest.contribution.revised", 1, contribution())
    assert type(event).type == "oneplan.housingtest.contribution.revised"
    disclosure = CATALOGUE.decode(
        "oneplan.housingtest.disclosure.recorded",
        1,
        {
            "disclosure_id": str(uuid.uuid4()),
            "child_id": str(uuid.uuid4()),
            "owner_agency": "housing",
            "recipient_agency": "send",
            "recipient": "caseworker-1",
            "data_classes": ["story"],
            "purpose": "plan_delivery",
            "basis": "consent",
            "reference_id": None,
            "disclosed_at": "2026-03-01T10:00:00+00:00",
        },
    )
    assert isinstance(disclosure, DisclosureRecorded)
    assert register_disclosure_event("housingtest", CATALOGUE) is type(disclosure)


def test_envelope_for_fills_the_envelope() -> None:
    models = register_contribution_events("referrals")
    event = models.withdrawn.model_validate(
        {key: value for key, value in contribution().items() if key not in {"title", "content",
                                                                            "outcomes"}}
    )  # fmt: skip
    at = datetime(2026, 5, 1, tzinfo=UTC)
    envelope = CATALOGUE.envelope_for(
        event,
        source="/oneplan/referrals",
        subject="contribution/x",
        correlationid="corr",
        event_id="fixed-id",
        time=at,
        childid="override",
    )
    assert envelope.id == "fixed-id"
    assert envelope.time == at
    assert envelope.type == "oneplan.referrals.contribution.withdrawn"
    assert envelope.dataschema == "urn:oneplan:event:oneplan.referrals.contribution.withdrawn:v1"
    assert envelope.childid == "override"
    assert envelope.traceparent is None
    fresh = CATALOGUE.envelope_for(event, source="/oneplan/referrals", subject=None)
    assert uuid.UUID(fresh.id).version == 4
    assert fresh.time.tzinfo is not None
    assert CATALOGUE.decode_envelope(fresh) == event


def test_envelope_for_carries_the_current_trace() -> None:
    tracer = TracerProvider().get_tracer("test")
    event = register_contribution_events("referrals").submitted.model_validate(contribution())
    with tracer.start_as_current_span("command") as span:
        envelope = CATALOGUE.envelope_for(event, source="/oneplan/referrals", subject=None)
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert envelope.traceparent is not None
    assert envelope.traceparent.split("-")[1] == trace_id


def test_decode_envelope_refuses_a_mismatched_dataclass() -> None:
    event = register_contribution_events("referrals").submitted.model_validate(contribution())
    envelope = CATALOGUE.envelope_for(event, source="/oneplan/referrals", subject=None)
    forged = Envelope(**{**_fields(envelope), "dataclass": "health"})
    with pytest.raises(MalformedEvent, match="differs from the event's 'social_care'"):
        CATALOGUE.decode_envelope(forged)


def _fields(envelope: Envelope) -> dict[str, Any]:
    return {name: getattr(envelope, name) for name in Envelope.__dataclass_fields__}


def test_a_generic_type_met_while_decoding_is_read_but_not_declared() -> None:
    """A follower of every service decodes disclosures of services it never named; the
    service's contract (AsyncAPI) lists only what it declares, however long it has run."""
    catalogue = Catalogue("auditor")
    register_disclosure_event("school", catalogue)
    assert [t.name for t in catalogue.readers()] == ["oneplan.school.disclosure.recorded"]
    met = catalogue.info("oneplan.transport.disclosure.recorded")
    assert not met.declared
    assert [t.name for t in catalogue.readers()] == ["oneplan.school.disclosure.recorded"]
    register_disclosure_event("transport", catalogue)  # declared after all
    assert [t.name for t in catalogue.readers()] == [
        "oneplan.school.disclosure.recorded",
        "oneplan.transport.disclosure.recorded",
    ]
