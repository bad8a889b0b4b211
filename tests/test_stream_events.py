"""The stream events handler against tables in moto: order, repetition and races do not matter."""

import copy
import itertools
import logging
import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers import stream_events
from handlers.stream_events import StreamStore, canonical_time, process
from tests.conftest import FIXTURE_SESSION, FOREIGN_EVENTS, load_event

FIXTURE_ARN = "arn:aws:ivs:us-west-2:111122223333:channel/Qz8rT2bLmN4x"
FIXTURE_SESSION_ID = "st-1Kp9ZxV3qWmN8bRtYc2LdEf"
T0 = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)

KINDS = {
    "created": ("IVS Stream State Change", "Session Created"),
    "start": ("IVS Stream State Change", "Stream Start"),
    "starving": ("IVS Stream Health Change", "Starvation Start"),
    "recovered": ("IVS Stream Health Change", "Starvation End"),
    "breach": ("IVS Limit Breach", "Ingest Bitrate"),
    "ended": ("IVS Stream State Change", "Session Ended"),
    "stream-end": ("IVS Stream State Change", "Stream End"),
}


class Channel:
    """A channel with an owner row, and a maker of its sessions' events."""

    def __init__(self, store: StreamStore, client, tables, arn: str | None = None):
        self.store = store
        self.client = client
        self.tables = tables
        self.arn = arn or f"arn:aws:ivs:us-west-2:111122223333:channel/{uuid.uuid4().hex[:12]}"
        self.owner_id = f"owner-{uuid.uuid4()}"
        client.put_item(
            TableName=tables.channels_table,
            Item={"id": {"S": self.owner_id}, "channelArn": {"S": self.arn}},
        )

    def event(self, kind: str, session: str, minute: float) -> dict:
        detail_type, name = KINDS[kind]
        event = copy.deepcopy(load_event("01-session-created"))
        event["id"] = str(uuid.uuid4())
        event["detail-type"] = detail_type
        event["time"] = (T0 + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")
        event["resources"] = [self.arn]
        event["detail"] = {"channel_name": "c", "stream_id": session, "event_name": name}
        if kind == "breach":
            event["detail"] = {
                "channel_name": "c",
                "stream_id": session,
                "limit_name": name,
                "exceeded_by": 1.2,
                "limit_unit": "Mbps",
                "limit_value": 8.5,
            }
        return event

    def deliver(self, *events: dict) -> list[dict]:
        return [process(self.store, event) for event in events]

    def rows(self) -> dict[str, dict]:
        response = self.client.query(
            TableName=self.tables.streams_table,
            KeyConditionExpression="channelArn = :arn",
            ExpressionAttributeValues={":arn": {"S": self.arn}},
            ConsistentRead=True,
        )
        return {row["id"]: row for row in map(stream_events._plain, response["Items"])}

    def open_sessions(self) -> list[str]:
        return sorted(sid for sid, row in self.rows().items() if row.get("isOpen") == "true")


@pytest.fixture
def store(stack) -> StreamStore:
    return StreamStore(stack.client, stack.channels_table, stack.streams_table)


@pytest.fixture
def channel(store, stack) -> Channel:
    return Channel(store, stack.client, stack)


@pytest.fixture
def fixture_channel(store, stack) -> Channel:
    return Channel(store, stack.client, stack, arn=FIXTURE_ARN)


def _at(minute: float) -> str:
    return canonical_time((T0 + timedelta(minutes=minute)).isoformat())


def _state(row: dict) -> dict:
    """The attributes the platform reads, without bookkeeping."""
    keep = ("startTime", "endTime", "isOpen", "isHealthy", "hasErrorEvent", "truncatedEvents")
    return {name: row.get(name) for name in keep}


def _fixture_session_state(channel: Channel, order: list[str]) -> dict:
    channel.deliver(*(load_event(name) for name in order))
    return _state(channel.rows()[FIXTURE_SESSION_ID])


# Each event alone


def test_session_created_alone_opens_the_session_with_its_start_and_owner(fixture_channel):
    result = fixture_channel.deliver(load_event("01-session-created"))[0]

    row = fixture_channel.rows()[FIXTURE_SESSION_ID]
    assert result["outcome"] == "applied"
    assert row["startTime"] == "2026-11-20T18:00:02.000Z"
    assert row["isOpen"] == "true"
    assert "endTime" not in row
    assert row["hasErrorEvent"] is False and row["isHealthy"] is True
    assert row["userSub"] == fixture_channel.owner_id
    assert row["truncatedEvents"] == [
        {
            "eventTime": "2026-11-20T18:00:02.000Z",
            "name": "Session Created",
            "type": "IVS Stream State Change",
        }
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("02-stream-start", {"isHealthy": True, "hasErrorEvent": False}),
        ("03-starvation-start", {"isHealthy": False, "hasErrorEvent": False}),
        ("04-starvation-end", {"isHealthy": True, "hasErrorEvent": False}),
        ("05-limit-breach", {"isHealthy": True, "hasErrorEvent": True}),
    ],
)
def test_an_event_before_its_creation_is_recorded_without_opening_the_session(
    fixture_channel, name, expected
):
    fixture_channel.deliver(load_event(name))

    row = fixture_channel.rows()[FIXTURE_SESSION_ID]
    assert "isOpen" not in row and "startTime" not in row
    assert {k: row[k] for k in expected} == expected
    assert len(row["truncatedEvents"]) == 1
    assert row["userSub"] == fixture_channel.owner_id


def test_limit_breach_is_recorded_under_its_limit_name(fixture_channel):
    fixture_channel.deliver(load_event("05-limit-breach"))

    event = fixture_channel.rows()[FIXTURE_SESSION_ID]["truncatedEvents"][0]
    assert event == {
        "eventTime": "2026-11-20T18:31:10.000Z",
        "name": "Ingest Bitrate",
        "type": "IVS Limit Breach",
    }


@pytest.mark.parametrize(
    ("name", "end"),
    [
        ("06-session-ended", "2026-11-20T19:02:13.000Z"),
        ("07-stream-end", "2026-11-20T19:02:19.000Z"),
    ],
)
def test_an_end_alone_records_the_session_closed_with_its_end(fixture_channel, name, end):
    fixture_channel.deliver(load_event(name))

    row = fixture_channel.rows()[FIXTURE_SESSION_ID]
    assert row["endTime"] == end
    assert "isOpen" not in row


@pytest.mark.parametrize("name", FOREIGN_EVENTS)
def test_events_the_handler_does_not_own_are_acknowledged_without_writes(fixture_channel, name):
    result = fixture_channel.deliver(load_event(name))[0]

    assert result["outcome"] == "ignored"
    assert result["eventId"] == load_event(name)["id"]
    assert fixture_channel.rows() == {}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: e.update(resources=[]), "no channel ARN"),
        (lambda e: e["detail"].pop("stream_id"), "no detail.stream_id"),
        (lambda e: e.update(detail="oops"), "no detail object"),
        (lambda e: e.update(time="yesterday"), "not an ISO-8601 time"),
        (lambda e: e["detail"].pop("event_name"), "no event or limit name"),
    ],
)
def test_malformed_events_are_acknowledged_without_writes(fixture_channel, change, reason):
    event = load_event("01-session-created")
    change(event)

    result = fixture_channel.deliver(event)[0]

    assert result["outcome"] == "ignored" and reason in result["reason"]
    assert result["eventId"] == event["id"]
    assert fixture_channel.rows() == {}


def test_an_event_for_a_channel_nobody_owns_is_acknowledged_without_writes(store, stack):
    result = process(store, load_event("01-session-created"))

    assert result["outcome"] == "ignored"
    assert "no channels row owns the channel" in result["reason"]
    assert stack.rows(stack.streams_table) == []


def test_anything_that_is_not_an_event_object_is_ignored(store):
    assert process(store, ["not", "an", "event"])["outcome"] == "ignored"


# The fixture session in any order, any number of times


def test_fixture_session_in_order_ends_closed_healthy_with_an_error_and_every_event(
    fixture_channel,
):
    state = _fixture_session_state(fixture_channel, FIXTURE_SESSION)

    assert state["startTime"] == "2026-11-20T18:00:02.000Z"
    assert state["endTime"] == "2026-11-20T19:02:19.000Z"
    assert state["isOpen"] is None
    assert state["isHealthy"] is True and state["hasErrorEvent"] is True
    assert [e["name"] for e in state["truncatedEvents"]] == [
        "Session Created",
        "Stream Start",
        "Starvation Start",
        "Starvation End",
        "Ingest Bitrate",
        "Session Ended",
        "Stream End",
    ]


def test_fixture_session_reversed_or_shuffled_ends_in_the_same_state(store, stack):
    in_order = _fixture_session_state(
        Channel(store, stack.client, stack, FIXTURE_ARN), FIXTURE_SESSION
    )
    orders = [list(reversed(FIXTURE_SESSION))]
    orders += [
        random.Random(seed).sample(FIXTURE_SESSION, len(FIXTURE_SESSION)) for seed in range(6)
    ]

    for order in orders:
        stack.client.delete_item(
            TableName=stack.streams_table,
            Key={"channelArn": {"S": FIXTURE_ARN}, "id": {"S": FIXTURE_SESSION_ID}},
        )
        channel = Channel(store, stack.client, stack, FIXTURE_ARN)
        assert _fixture_session_state(channel, order) == in_order, order


def test_every_event_delivered_twice_changes_nothing_the_second_time(fixture_channel):
    doubled = [name for name in FIXTURE_SESSION for _ in range(2)]

    results = fixture_channel.deliver(*(load_event(name) for name in doubled))

    assert [r["outcome"] for r in results[1::2]] == ["unchanged"] * len(FIXTURE_SESSION)
    assert len(fixture_channel.rows()[FIXTURE_SESSION_ID]["truncatedEvents"]) == 7


def test_health_follows_the_latest_starvation_event_whatever_the_arrival_order(channel):
    channel.deliver(
        channel.event("created", "s1", 0),
        channel.event("starving", "s1", 3),
        channel.event("recovered", "s1", 2),
    )

    assert channel.rows()["s1"]["isHealthy"] is False


# Ends, late creations and many sessions


def test_an_end_before_its_creation_keeps_the_session_closed(channel):
    channel.deliver(channel.event("ended", "s1", 30), channel.event("created", "s1", 0))

    row = channel.rows()["s1"]
    assert row["startTime"] == _at(0) and row["endTime"] == _at(30)
    assert channel.open_sessions() == []


def test_a_late_creation_of_an_older_session_leaves_the_newer_one_live(channel):
    channel.deliver(channel.event("created", "old", 0), channel.event("created", "new", 10))
    channel.deliver(channel.event("created", "older", -5))

    rows = channel.rows()
    assert channel.open_sessions() == ["new"]
    assert rows["older"]["endTime"] == _at(0)
    assert rows["old"]["endTime"] == _at(10)


def test_a_late_creation_between_two_sessions_moves_the_earlier_ones_end_to_its_start(channel):
    channel.deliver(channel.event("created", "a", 0), channel.event("created", "c", 20))
    channel.deliver(channel.event("created", "b", 10))

    rows = channel.rows()
    assert rows["a"]["endTime"] == _at(10)
    assert rows["b"]["endTime"] == _at(20)
    assert channel.open_sessions() == ["c"]


def test_a_new_session_closes_the_live_one_at_its_own_start(channel):
    channel.deliver(channel.event("created", "a", 0), channel.event("created", "b", 7))

    assert channel.rows()["a"]["endTime"] == _at(7)
    assert channel.open_sessions() == ["b"]


def test_an_explicit_end_outranks_the_next_sessions_start(channel):
    channel.deliver(
        channel.event("created", "a", 0),
        channel.event("created", "b", 10),
        channel.event("ended", "a", 9),
    )

    assert channel.rows()["a"]["endTime"] == _at(9)


def test_many_sessions_of_one_channel_in_any_order_leave_only_the_latest_live(channel):
    minutes = list(range(0, 300, 10))
    events = [channel.event("created", f"s{m:03}", m) for m in minutes]
    random.Random(7).shuffle(events)

    channel.deliver(*events)

    rows = channel.rows()
    assert channel.open_sessions() == ["s290"]
    for earlier, later in itertools.pairwise(minutes):
        assert rows[f"s{earlier:03}"]["endTime"] == _at(later)


def _process_after(barrier: threading.Barrier, store: StreamStore, event: dict) -> dict:
    barrier.wait()
    return process(store, event)


def test_two_creations_at_the_same_moment_leave_one_live_session_every_time(stack, store):
    stores = [
        StreamStore(
            boto3.client("dynamodb", region_name="us-west-2", endpoint_url=stack.endpoint_url),
            stack.channels_table,
            stack.streams_table,
        )
        for _ in range(2)
    ]

    with ThreadPoolExecutor(max_workers=2) as pool:
        for round_ in range(25):
            channel = Channel(store, stack.client, stack)
            events = [channel.event("created", "first", 0), channel.event("created", "second", 1)]
            if round_ % 2:
                events.reverse()
            barrier = threading.Barrier(2)

            futures = [
                pool.submit(_process_after, barrier, s, e)
                for s, e in zip(stores, events, strict=True)
            ]

            assert [f.result()["outcome"] for f in futures] == ["applied", "applied"]
            assert channel.open_sessions() == ["second"], f"round {round_}"
            assert channel.rows()["first"]["endTime"] == _at(1)


# Rows written by others, and races around the channel's owner


def _put_session(stack, channel: Channel, **item) -> None:
    serialize = TypeSerializer().serialize
    row = {"channelArn": channel.arn, **item}
    stack.client.put_item(
        TableName=stack.streams_table, Item={k: serialize(v) for k, v in row.items()}
    )


def test_sessions_created_in_the_same_second_do_not_hide_the_next_one(channel):
    channel.deliver(channel.event("created", "z-later", 1))
    channel.deliver(*(channel.event("created", s, 0) for s in "abcde"))

    channel.deliver(channel.event("created", "f", 0))

    assert channel.rows()["f"]["endTime"] == _at(1)
    assert channel.open_sessions() == ["z-later"]


def test_an_event_on_an_ended_seeded_session_does_not_reopen_it(stack, channel):
    _put_session(stack, channel, id="old", startTime=_at(0), endTime="", isHealthy=True)
    _put_session(stack, channel, id="new", startTime=_at(10), isOpen="true", isHealthy=True)

    channel.deliver(channel.event("breach", "old", 5))

    assert channel.open_sessions() == ["new"]
    assert channel.rows()["old"]["hasErrorEvent"] is True


def test_an_event_stored_in_another_time_format_is_not_recorded_twice(stack, channel):
    created = channel.event("created", "p", 0)
    record = {
        "eventTime": created["time"],
        "name": "Session Created",
        "type": "IVS Stream State Change",
    }
    _put_session(
        stack, channel, id="p", startTime=created["time"], isOpen="true", truncatedEvents=[record]
    )

    channel.deliver(created, channel.event("start", "p", 1))

    row = channel.rows()["p"]
    assert [e["eventTime"] for e in row["truncatedEvents"]] == [_at(0), _at(1)]
    assert row["startTime"] == _at(0)


def test_a_stored_event_list_longer_than_fifty_is_cut_to_the_newest_fifty(stack, channel):
    stored = [
        {"eventTime": _at(m), "name": "Stream Start", "type": "IVS Stream State Change"}
        for m in range(60)
    ]
    _put_session(stack, channel, id="p", startTime=_at(0), truncatedEvents=stored)

    channel.deliver(channel.event("ended", "p", 100))

    events = channel.rows()["p"]["truncatedEvents"]
    assert len(events) == 50
    assert events[-1]["name"] == "Session Ended" and events[0]["eventTime"] == _at(11)


def test_an_owner_added_while_a_creation_is_in_flight_cannot_let_two_sessions_open(
    stack, store, channel
):
    other = StreamStore(stack.client, stack.channels_table, stack.streams_table)

    class AnotherOwnerAppearsMidway(StreamStore):
        interfered = False

        def write_creation(self, *args, **kwargs):
            if not self.interfered:
                self.interfered = True
                stack.client.put_item(
                    TableName=stack.channels_table,
                    Item={"id": {"S": "owner-0000"}, "channelArn": {"S": channel.arn}},
                )
                assert process(other, channel.event("created", "b", 10))["outcome"] == "applied"
            return super().write_creation(*args, **kwargs)

    paused = AnotherOwnerAppearsMidway(stack.client, stack.channels_table, stack.streams_table)

    assert process(paused, channel.event("created", "a", 0))["outcome"] == "applied"
    assert channel.open_sessions() == ["b"]


def test_a_starvation_that_ends_in_the_second_it_started_leaves_the_stream_healthy(channel):
    channel.deliver(channel.event("recovered", "s1", 3), channel.event("starving", "s1", 3))

    assert channel.rows()["s1"]["isHealthy"] is True


# Cost, errors and logging


def _requests_for_next_creation(stack, store, past_sessions: int) -> int:
    channel = Channel(store, stack.client, stack)
    channel.deliver(*(channel.event("created", f"s{i:05}", i) for i in range(past_sessions)))
    calls = []
    stack.client.meta.events.register("after-call.dynamodb", lambda **_: calls.append(1))
    try:
        channel.deliver(channel.event("created", "next", past_sessions + 1))
        channel.deliver(channel.event("start", "next", past_sessions + 2))
    finally:
        stack.client.meta.events.unregister("after-call.dynamodb")
    return len(calls)


def test_an_events_cost_does_not_grow_with_the_channels_history(stack, store):
    assert _requests_for_next_creation(stack, store, 2) == _requests_for_next_creation(
        stack, store, 40
    )


def test_throttling_raises_so_the_event_is_retried(stack, channel):
    client = boto3.client(
        "dynamodb",
        region_name="us-west-2",
        endpoint_url=stack.endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )

    def throttle(**_):
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
            "UpdateItem",
        )

    client.meta.events.register("before-call.dynamodb.UpdateItem", throttle)
    store = StreamStore(client, stack.channels_table, stack.streams_table)

    with pytest.raises(ClientError, match="ProvisionedThroughputExceeded"):
        process(store, channel.event("start", "s1", 0))
    assert channel.rows() == {}


def test_the_lambda_handler_logs_one_structured_line_per_event(
    stack, fixture_channel, monkeypatch, caplog
):
    monkeypatch.setenv("CHANNELS_TABLE_NAME", stack.channels_table)
    monkeypatch.setenv("STREAM_TABLE_NAME", stack.streams_table)
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.endpoint_url)
    monkeypatch.setattr(stream_events, "_store", None)
    event = load_event("01-session-created")

    with caplog.at_level(logging.INFO, logger="handlers.stream_events"):
        stream_events.handler(event, None)

    [record] = caplog.records
    assert record.eventId == event["id"]
    assert (record.eventType, record.eventName) == ("IVS Stream State Change", "Session Created")
    assert (record.channelArn, record.sessionId) == (FIXTURE_ARN, FIXTURE_SESSION_ID)
    assert record.changes[FIXTURE_SESSION_ID]["isOpen"] == "true"


# Any interleaving, any repetition, any delay


def _expected(deliveries: list[tuple[str, str, int]]) -> dict[str, dict]:
    """What each session must look like, computed from the events alone, as if in time order."""
    starts = {session: minute for kind, session, minute in deliveries if kind == "created"}
    expected = {}
    for session in {session for _, session, _ in deliveries}:
        ends = [m for kind, s, m in deliveries if s == session and kind in ("ended", "stream-end")]
        later = sorted(
            minute
            for other, minute in starts.items()
            if session in starts and (minute, other) > (starts[session], session)
        )
        end = max(ends) if ends else (later[0] if later else None)
        expected[session] = {
            "startTime": _at(starts[session]) if session in starts else None,
            "endTime": _at(end) if end is not None else None,
            "open": session in starts and end is None,
            "events": len({(kind, minute) for kind, s, minute in deliveries if s == session}),
        }
    return expected


@st.composite
def _channel_history(draw) -> list[tuple[str, str, int]]:
    """Up to three sessions' events: at most one creation each, any others at any minute."""
    deliveries = []
    for session in draw(st.lists(st.sampled_from("abc"), min_size=1, max_size=3, unique=True)):
        if draw(st.booleans()):
            deliveries.append(("created", session, draw(st.integers(0, 40))))
        others = st.tuples(st.sampled_from(sorted(set(KINDS) - {"created"})), st.integers(0, 60))
        for kind, minute in draw(st.lists(others, max_size=3, unique=True)):
            deliveries.append((kind, session, minute))
    return deliveries


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(deliveries=_channel_history(), data=st.data())
def test_any_interleaving_with_duplicates_and_delays_matches_time_order(
    store, stack, deliveries, data
):
    channel = Channel(store, stack.client, stack)
    events = {d: channel.event(*d) for d in deliveries}
    repeats = (
        data.draw(st.lists(st.sampled_from(deliveries), max_size=len(deliveries)))
        if deliveries
        else []
    )
    arrival = data.draw(st.permutations(deliveries + repeats))

    channel.deliver(*(events[d] for d in arrival))

    rows = channel.rows()
    assert len(channel.open_sessions()) <= 1
    for session, want in _expected(deliveries).items():
        row = rows[session]
        assert row.get("startTime") == want["startTime"], session
        assert row.get("endTime") == want["endTime"], session
        assert (row.get("isOpen") == "true") == want["open"], session
        assert len(row["truncatedEvents"]) == want["events"], session
        times = [e["eventTime"] for e in row["truncatedEvents"]]
        assert times == sorted(times), session


def test_stored_events_without_a_time_are_kept_and_sorted_first(stack, channel):
    stored = [{"name": "Stream Start", "type": "IVS Stream State Change"}]
    _put_session(stack, channel, id="p", startTime=_at(0), truncatedEvents=stored)

    channel.deliver(channel.event("start", "p", 1))

    assert [e["name"] for e in channel.rows()["p"]["truncatedEvents"]] == [
        "Stream Start",
        "Stream Start",
    ]


def test_an_event_naming_the_channel_marker_as_its_stream_is_ignored(fixture_channel):
    event = load_event("01-session-created")
    event["detail"]["stream_id"] = "#channel"

    assert fixture_channel.deliver(event)[0]["outcome"] == "ignored"
    assert fixture_channel.rows() == {}
