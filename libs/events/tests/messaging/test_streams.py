"""Streams are created and corrected idempotently; a stream replays from sequence 1."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from nats.js import JetStreamContext
from nats.js.api import StorageType

from oneplan_events.catalogue import Event
from oneplan_events.envelope import Envelope
from oneplan_events.streams import (
    STREAMS,
    StreamChange,
    StreamConfigConflict,
    StreamSpec,
    ensure_stream,
    replay_stream,
    stream_for,
)
from oneplan_testkit import unique_name

from .conftest import Harness


async def test_ensure_stream_creates_once_then_leaves_it(js: JetStreamContext) -> None:
    spec = StreamSpec(name=unique_name("S"), subjects=("oneplan.streamtest.>",))
    try:
        assert await ensure_stream(js, spec) is StreamChange.CREATED
        assert await ensure_stream(js, spec) is StreamChange.UNCHANGED
        config = (await js.stream_info(spec.name)).config
        assert config.storage == StorageType.FILE
        assert config.num_replicas == 1
        assert config.duplicate_window == 120
    finally:
        await js.delete_stream(spec.name)


async def test_ensure_stream_corrects_drift_and_keeps_the_rest(js: JetStreamContext) -> None:
    spec = StreamSpec(name=unique_name("S"), subjects=("oneplan.drifttest.>",))
    try:
        await ensure_stream(js, spec)
        # an operator's limit that OnePlan does not own, and a hand-edited window
        info = await js.stream_info(spec.name)
        await js.update_stream(
            dataclasses.replace(info.config, max_msgs=5000, duplicate_window=10.0)
        )
        wanted = dataclasses.replace(
            spec,
            subjects=("oneplan.drifttest.>", "oneplan.drifttest2.>"),
            duplicate_window=timedelta(seconds=30),
        )
        assert await ensure_stream(js, spec) is StreamChange.UPDATED  # the window drifted
        assert await ensure_stream(js, wanted) is StreamChange.UPDATED
        config = (await js.stream_info(spec.name)).config
        assert sorted(config.subjects or []) == ["oneplan.drifttest.>", "oneplan.drifttest2.>"]
        assert config.duplicate_window == 30
        assert config.max_msgs == 5000
        assert await ensure_stream(js, wanted) is StreamChange.UNCHANGED
    finally:
        await js.delete_stream(spec.name)


async def test_a_storage_change_is_refused_not_recreated(js: JetStreamContext) -> None:
    spec = StreamSpec(name=unique_name("S"), subjects=("oneplan.storagetest.>",))
    try:
        await ensure_stream(js, spec)
        with pytest.raises(StreamConfigConflict, match="cannot change storage"):
            await ensure_stream(js, dataclasses.replace(spec, storage=StorageType.MEMORY))
    finally:
        await js.delete_stream(spec.name)


def test_the_oneplan_streams() -> None:
    assert [spec.name for spec in STREAMS] == [
        "CHILDREN", "CONSENT", "PLANS", "REFERRALS", "SOCIALCARE", "TRANSPORT"
    ]  # fmt: skip
    assert stream_for("plans").subjects == ("oneplan.plans.>",)
    with pytest.raises(KeyError):
        stream_for("nowhere")


async def test_replay_stream_from_sequence_one_stops_at_the_start_end(harness: Harness) -> None:
    await harness.publish_many(25)
    await harness.js.publish(harness.submitted_subject, b"not json")  # skipped, not fatal
    seen: list[str] = []
    progress: list[tuple[int, int]] = []

    async def apply(event: Event, envelope: Envelope) -> None:
        seen.append(envelope.id)
        if len(seen) == 10:
            # published during the replay: after the end taken at the start
            await harness.publish(harness.envelope("late"))

    result = await replay_stream(
        harness.js,
        harness.stream.name,
        [f"oneplan.{harness.service}.>"],
        apply,
        progress=lambda done, total: progress.append((done, total)),
        progress_every=10,
    )
    assert seen == [envelope.id for envelope in harness.published[:25]]
    assert (result.applied, result.skipped, result.last_sequence) == (25, 1, 26)
    assert progress == [(10, 26), (20, 26), (26, 26)]


async def test_replay_of_an_empty_stream(harness: Harness) -> None:
    async def apply(event: Event, envelope: Envelope) -> None:
        raise AssertionError("nothing to apply")

    result = await replay_stream(harness.js, harness.stream.name, ["oneplan.x.>"], apply)
    assert result.applied == 0
