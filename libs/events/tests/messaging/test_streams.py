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
    ServerTooOld,
    StreamChange,
    StreamConfigConflict,
    StreamSpec,
    ensure_stream,
    partitions_of,
    replay_stream,
    require_server,
    service_stream,
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


def test_a_service_stream_is_partitioned_by_record() -> None:
    spec = service_stream("plans", partitions=4)
    assert (spec.name, tuple(spec.subjects)) == ("PLANS", ("oneplan.plans.>",))
    transform = spec.subject_transform
    assert transform is not None
    assert transform.src == "oneplan.plans.*.*.*"
    assert transform.dest.endswith(".{{partition(4,3)}}")


async def test_the_server_stores_each_record_in_one_partition(js: JetStreamContext) -> None:
    spec = service_stream(unique_name("part").lower(), partitions=3)
    prefix = spec.subjects[0][:-2]
    try:
        await ensure_stream(js, spec)
        for record in ("a", "b", "c", "d"):
            for event in ("thing.made", "thing.changed"):
                await js.publish(f"{prefix}.{event}.{record}", b"{}")
        info = await js.stream_info(spec.name, subjects_filter=">")
        assert partitions_of(info) == 3
        stored = info.state.subjects or {}
        partition_of: dict[str, set[str]] = {}
        for subject in stored:
            *_, record, partition = subject.split(".")
            partition_of.setdefault(record, set()).add(partition)
        assert set(partition_of) == {"a", "b", "c", "d"}
        assert all(len(partitions) == 1 for partitions in partition_of.values())
    finally:
        await js.delete_stream(spec.name)


async def test_repartitioning_a_stream_that_holds_events_is_refused(js: JetStreamContext) -> None:
    spec = service_stream(unique_name("part").lower(), partitions=2)
    try:
        await ensure_stream(js, spec)
        await js.publish(spec.subjects[0][:-2] + ".thing.made.a", b"{}")
        with pytest.raises(StreamConfigConflict, match="partitioned differently"):
            await ensure_stream(js, dataclasses.replace(spec, partitions=3))
    finally:
        await js.delete_stream(spec.name)


def test_servers_before_2_11_are_refused_with_what_to_do() -> None:
    with pytest.raises(ServerTooOld, match=r"nats-server 2\.9\.10 is too old"):
        require_server((2, 9, 10))
    require_server((2, 11, 0))
    require_server((2, 15, 1))


async def test_replay_stream_from_sequence_one_stops_at_the_start_end(harness: Harness) -> None:
    await harness.publish_many(25)
    await harness.js.publish(harness.submitted_type + ".x", b"not json")  # skipped, not fatal
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
        catalogue=harness.catalogue,
        progress=lambda done, total: progress.append((done, total)),
        progress_every=10,
    )
    assert seen == [envelope.id for envelope in harness.published[:25]]
    assert (result.applied, result.skipped, result.last_sequence) == (25, 1, 26)
    assert progress == [(10, 26), (20, 26), (26, 26)]


async def test_replay_of_an_empty_stream(harness: Harness) -> None:
    async def apply(event: Event, envelope: Envelope) -> None:
        raise AssertionError("nothing to apply")

    result = await replay_stream(
        harness.js, harness.stream.name, ["oneplan.x.>"], apply, catalogue=harness.catalogue
    )
    assert result.applied == 0
