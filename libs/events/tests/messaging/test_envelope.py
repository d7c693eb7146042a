"""The envelope round-trips through the CloudEvents NATS binding and refuses malformed input."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oneplan_events.envelope import Envelope, MalformedEvent, record_key

TYPE = "oneplan.children.child.registered"


def make_envelope(**overrides: Any) -> Envelope:
    values: dict[str, Any] = {
        "id": "6b2d1f0e-8f6c-4d55-9d61-1a0d3c9b7e21",
        "source": "/oneplan/children",
        "type": TYPE,
        "time": datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC),
        "data": {"child_id": "c-1", "nested": {"list": [1, 2.5, None, True, "é"]}},
        "subject": "child/c-1",
        "dataschema": f"urn:oneplan:event:{TYPE}:v2",
        "childid": "c-1",
        "correlationid": "corr",
        "causationid": "cause",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "dataclass": "identity",
    }
    values.update(overrides)
    return Envelope(**values)


def test_round_trip_keeps_every_attribute() -> None:
    envelope = make_envelope()
    headers, body = envelope.to_nats()
    assert Envelope.from_nats(TYPE, headers, body) == envelope
    assert envelope.schema_version == 2


def test_binary_mode_headers() -> None:
    headers, body = make_envelope(source="/oneplan/children dept", subject="child/ü").to_nats()
    assert headers["Nats-Msg-Id"] == "6b2d1f0e-8f6c-4d55-9d61-1a0d3c9b7e21"
    assert headers["ce-type"] == TYPE
    assert headers["ce-specversion"] == "1.0"
    assert headers["content-type"] == "application/json"
    assert headers["ce-time"] == "2026-03-01T09:30:15.123456+00:00"
    # space, '%' and non-ASCII are percent-encoded (CloudEvents HTTP binding rules)
    assert headers["ce-source"] == "/oneplan/children%20dept"
    assert headers["ce-subject"] == "child/%C3%BC"
    assert json.loads(body)["nested"]["list"][4] == "é"


def test_optional_attributes_left_out_when_absent() -> None:
    envelope = make_envelope(
        subject=None,
        dataschema=None,
        childid=None,
        correlationid=None,
        causationid=None,
        traceparent=None,
        dataclass=None,
    )
    headers, body = envelope.to_nats()
    assert set(headers) == {
        "ce-id", "ce-source", "ce-type", "ce-specversion", "ce-time", "content-type", "Nats-Msg-Id"
    }  # fmt: skip
    decoded = Envelope.from_nats(TYPE, headers, body)
    assert decoded == envelope
    assert decoded.schema_version == 1


def test_time_offset_and_microseconds_survive() -> None:
    offset = timezone(timedelta(hours=-3, minutes=-30))
    envelope = make_envelope(time=datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=offset))
    decoded = Envelope.from_nats(TYPE, *envelope.to_nats())
    assert decoded.time.utcoffset() == timedelta(hours=-3, minutes=-30)
    assert decoded.time.microsecond == 7


def test_header_names_are_read_case_insensitively() -> None:
    headers, body = make_envelope().to_nats()
    shouted = {key.upper(): value for key, value in headers.items()}
    assert Envelope.from_nats(TYPE, shouted, body) == make_envelope()


def test_unknown_extension_is_ignored() -> None:
    headers, body = make_envelope().to_nats()
    assert Envelope.from_nats(TYPE, {**headers, "ce-partitionkey": "p"}, body) == make_envelope()


def _without(headers: dict[str, str], key: str) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name != key}


GOOD_HEADERS, GOOD_BODY = make_envelope().to_nats()


@pytest.mark.parametrize(
    ("subject", "headers", "body", "reason"),
    [
        (TYPE, _without(GOOD_HEADERS, "ce-id"), GOOD_BODY, "missing required attribute(s): id"),
        (TYPE, _without(GOOD_HEADERS, "ce-time"), GOOD_BODY, "missing required attribute(s): time"),
        (TYPE, None, GOOD_BODY, "missing required attribute(s): id, source, type"),
        (TYPE, {**GOOD_HEADERS, "ce-specversion": "0.3"}, GOOD_BODY, "specversion '0.3'"),
        (
            "oneplan.children.other.changed",
            GOOD_HEADERS,
            GOOD_BODY,
            "does not carry the event type",
        ),
        (TYPE, GOOD_HEADERS, b"not json", "body is not UTF-8 JSON"),
        (TYPE, GOOD_HEADERS, b"\xff\xfe", "body is not UTF-8 JSON"),
        (TYPE, GOOD_HEADERS, b"", "body is not UTF-8 JSON"),
        (TYPE, GOOD_HEADERS, b"[1, 2]", "not an object (got list)"),
        (TYPE, GOOD_HEADERS, b'{"x": NaN}', "body is not UTF-8 JSON"),
        (TYPE, {**GOOD_HEADERS, "ce-time": "yesterday"}, GOOD_BODY, "not an RFC 3339 timestamp"),
        (TYPE, {**GOOD_HEADERS, "ce-time": "2026-03-01T09:30:15"}, GOOD_BODY, "no UTC offset"),
        (TYPE, {**GOOD_HEADERS, "content-type": "text/plain"}, GOOD_BODY, "'text/plain'"),
        (TYPE, {**GOOD_HEADERS, "ce-dataschema": "urn:x"}, GOOD_BODY, "dataschema 'urn:x'"),
        (TYPE, {**GOOD_HEADERS, "ce-source": "%FF"}, GOOD_BODY, "not percent-encoded UTF-8"),
        (TYPE, {**GOOD_HEADERS, "ce-id": ""}, GOOD_BODY, "'id' must be a non-empty string"),
    ],
)
def test_malformed_messages_are_refused_with_a_reason(
    subject: str, headers: dict[str, str] | None, body: bytes, reason: str
) -> None:
    with pytest.raises(MalformedEvent) as caught:
        Envelope.from_nats(subject, headers, body)
    assert reason in str(caught.value)


def test_content_type_parameters_are_accepted() -> None:
    headers = {**GOOD_HEADERS, "content-type": "application/json; charset=utf-8"}
    decoded = Envelope.from_nats(TYPE, headers, GOOD_BODY)
    assert decoded.datacontenttype == "application/json; charset=utf-8"


def test_naive_time_is_refused_at_construction() -> None:
    with pytest.raises(MalformedEvent, match="timezone-aware"):
        make_envelope(time=datetime(2026, 1, 1))


def test_dataschema_must_name_the_type() -> None:
    with pytest.raises(MalformedEvent, match="dataschema"):
        make_envelope(dataschema="urn:oneplan:event:oneplan.other.thing.happened:v1")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
header_text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=30)


@given(
    data=st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    source=header_text,
    subject=st.none() | header_text,
    correlationid=st.none() | header_text,
    time=st.datetimes(
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=45))]),
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2200, 1, 1),
    ),
    version=st.integers(min_value=1, max_value=99),
)
def test_round_trip_property(
    data: dict[str, Any],
    source: str,
    subject: str | None,
    correlationid: str | None,
    time: datetime,
    version: int,
) -> None:
    envelope = make_envelope(
        data=data,
        source=source,
        subject=subject,
        correlationid=correlationid,
        time=time,
        dataschema=f"urn:oneplan:event:{TYPE}:v{version}",
    )
    decoded = Envelope.from_nats(TYPE, *envelope.to_nats())
    assert decoded == envelope
    assert decoded.time.utcoffset() == envelope.time.utcoffset()
    assert decoded.schema_version == version


def test_the_subject_carries_the_record_and_the_version_travels_as_an_extension() -> None:
    envelope = dataclasses.replace(make_envelope(), subject="child/3f1b", streamversion=7)
    headers, body = envelope.to_nats()
    assert envelope.nats_subject == f"{envelope.type}.3f1b"
    assert headers["ce-streamversion"] == "7"
    # Stored partitioned (the record's partition appended), it still reads back whole.
    read = Envelope.from_nats(f"{envelope.nats_subject}.2", headers, body)
    assert read == envelope


@pytest.mark.parametrize(
    ("stream_id", "key"),
    [
        ("child/0b0e3c1e-8e63-4d22-9d1a-0c8b9a3c2f10", "0b0e3c1e-8e63-4d22-9d1a-0c8b9a3c2f10"),
        ("settings/100001", "100001"),
        (None, "_"),
    ],
)
def test_record_keys_are_plain_subject_tokens(stream_id: str | None, key: str) -> None:
    assert record_key(stream_id) == key


def test_a_record_id_that_is_no_subject_token_is_hashed_deterministically() -> None:
    awkward = "matrix/communication and interaction.v2"
    key = record_key(awkward)
    assert key == record_key(awkward)
    assert len(key) == 32
    assert "." not in key
    assert " " not in key


@pytest.mark.parametrize("version", ["0", "-1", "x", "1.5", "²", "1" * 13])
def test_a_malformed_stream_version_is_refused(version: str) -> None:
    headers, body = make_envelope().to_nats()
    headers["ce-streamversion"] = version
    with pytest.raises(MalformedEvent, match="streamversion"):
        Envelope.from_nats(make_envelope().type, headers, body)
