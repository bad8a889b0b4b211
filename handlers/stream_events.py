"""Keeps each stream session's row true to the IVS stream events EventBridge delivers.

A session's state after any set of events does not depend on their order or on how often each
one is delivered:
- `startTime` is the time of the session's `Session Created` event;
- `endTime` is the time of the session's latest end event (`Session Ended`, `Stream End`);
  without one, the start of the channel's next session, once that one is created;
- a session is open (`isOpen` "true") from its creation, unless it has already ended or a later
  session exists, until it ends or a later session is created;
- `isHealthy` follows the latest starvation event, `hasErrorEvent` is true once a limit breach
  arrived, and `truncatedEvents` holds the newest 50 distinct events in time order.

Every write is conditional on the row's `stateVersion`. A creation also bumps the version on
the channel's marker row (id `#channel` in the streams table) in the same transaction, so
creations on one channel take effect one at a time and a channel never has two open sessions.
The marker has no `startTime` or `isOpen`, so no index the platform reads lists it.
"""

import logging
import os
import random
import time as clock
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

STATE_CHANGE = "IVS Stream State Change"
HEALTH_CHANGE = "IVS Stream Health Change"
LIMIT_BREACH = "IVS Limit Breach"
OWNED_TYPES = (STATE_CHANGE, HEALTH_CHANGE, LIMIT_BREACH)

CREATED = "Session Created"
ENDS = ("Session Ended", "Stream End")
STARVATION_START = "Starvation Start"
STARVATION_END = "Starvation End"

EVENTS_KEPT = 50
ATTEMPTS = 10
NEIGHBOURS = 5
CHANNEL_MARKER = "#channel"
MARKER_VERSION = "sessionsVersion"
# Within one second, a Starvation End outranks a Starvation Start: a brief stall recovers.
HEALTH_RANK = {STARVATION_START: "0", STARVATION_END: "1"}

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


class Ignored(Exception):
    """The event is acknowledged without writes; the message says why."""


class Conflict(Exception):
    """Another writer changed a row between our read and our write."""


def canonical_time(text: object) -> str | None:
    """An ISO-8601 time as `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC (so times sort as text), or None."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class StreamEvent:
    """The parts of an IVS event this handler uses."""

    event_id: str
    detail_type: str
    name: str
    channel_arn: str
    session_id: str
    time: str

    @property
    def record(self) -> dict:
        """The event as the platform shows it in `truncatedEvents`."""
        return {"eventTime": self.time, "name": self.name, "type": self.detail_type}


def parse(event: object) -> StreamEvent:
    """Read an EventBridge event; raises Ignored for one this handler must leave alone."""
    if not isinstance(event, dict):
        raise Ignored("the event is not a JSON object")
    detail_type = event.get("detail-type")
    if event.get("source") != "aws.ivs" or detail_type not in OWNED_TYPES:
        raise Ignored(f"{event.get('source')} {detail_type!r} events are not stream events")
    detail = event.get("detail")
    resources = event.get("resources")
    if not isinstance(detail, dict):
        raise Ignored("the event has no detail object")
    if not isinstance(resources, list) or not resources or not isinstance(resources[0], str):
        raise Ignored("the event names no channel ARN in resources[0]")
    session_id = detail.get("stream_id")
    if not isinstance(session_id, str) or not session_id:
        raise Ignored("the event has no detail.stream_id")
    if session_id == CHANNEL_MARKER:
        raise Ignored(f"{CHANNEL_MARKER} is the channel's marker row, not a stream id")
    name = detail.get("limit_name") if detail_type == LIMIT_BREACH else detail.get("event_name")
    if not isinstance(name, str) or not name:
        raise Ignored("the event has no event or limit name")
    time = canonical_time(event.get("time"))
    if time is None:
        raise Ignored(f"the event time {event.get('time')!r} is not an ISO-8601 time")
    return StreamEvent(
        event_id=str(event.get("id", "")),
        detail_type=detail_type,
        name=name,
        channel_arn=resources[0],
        session_id=session_id,
        time=time,
    )


def _event_order(record: dict) -> tuple:
    return tuple(str(record.get(name) or "") for name in ("eventTime", "name", "type"))


def _stored_events(stored: object) -> tuple:
    """Stored events in time order, times made canonical, repeats dropped, newest 50 kept."""
    events = []
    for event in stored if isinstance(stored, list) else []:
        if isinstance(event, dict):
            when = canonical_time(event.get("eventTime")) or event.get("eventTime")
            record = {**event, "eventTime": when}
            if record not in events:
                events.append(record)
    return tuple(sorted(events, key=_event_order)[-EVENTS_KEPT:])


def _latest_end(events: tuple) -> str | None:
    """The time of the latest end event among stored events, for rows written without it."""
    ends = [
        e["eventTime"]
        for e in events
        if e.get("name") in ENDS and e.get("type") == STATE_CHANGE and e.get("eventTime")
    ]
    return max(ends) if ends else None


@dataclass(frozen=True)
class SessionState:
    """What this handler keeps on a session's row.

    `end_event_time` and `health_event` remember which event decided `endTime` and
    `isHealthy`, so a late or repeated event can be weighed against it.
    """

    start_time: str | None = None
    end_time: str | None = None
    end_event_time: str | None = None
    is_open: bool = False
    health_event: str | None = None
    is_healthy: bool = True
    has_error_event: bool = False
    events: tuple = field(default_factory=tuple)
    version: int = 0

    @classmethod
    def from_item(cls, item: dict | None) -> "SessionState":
        """The state stored on a row (written here, by the API or by the seeder), or empty."""
        if not item:
            return cls()
        events = _stored_events(item.get("truncatedEvents"))
        return cls(
            start_time=canonical_time(item.get("startTime")),
            end_time=canonical_time(item.get("endTime")),
            end_event_time=item.get("endEventTime") or _latest_end(events),
            is_open=item.get("isOpen") == "true",
            health_event=item.get("healthEvent"),
            is_healthy=item.get("isHealthy", True) is not False,
            has_error_event=item.get("hasErrorEvent") is True,
            events=events,
            version=int(item.get("stateVersion", 0)),
        )

    def apply(self, event: StreamEvent) -> "SessionState":
        """This session's own state after `event`; neighbours are handled by the caller."""
        state = self
        record = event.record
        if record not in state.events:
            kept = sorted([*state.events, record], key=_event_order)[-EVENTS_KEPT:]
            state = replace(state, events=tuple(kept))

        if event.name == CREATED and event.detail_type == STATE_CHANGE:
            if state.start_time is None or event.time < state.start_time:
                state = replace(state, start_time=event.time)
            state = replace(state, is_open=state.end_time is None)
        elif event.name in ENDS and event.detail_type == STATE_CHANGE:
            if state.end_event_time is None or event.time > state.end_event_time:
                state = replace(state, end_event_time=event.time, end_time=event.time)
            state = replace(state, is_open=False)
        elif event.detail_type == HEALTH_CHANGE and event.name in HEALTH_RANK:
            stamp = f"{event.time}|{HEALTH_RANK[event.name]}"
            if state.health_event is None or stamp > state.health_event:
                healthy = event.name == STARVATION_END
                state = replace(state, health_event=stamp, is_healthy=healthy)
        elif event.detail_type == LIMIT_BREACH:
            state = replace(state, has_error_event=True)
        return state

    def followed_by(self, next_start: str) -> "SessionState":
        """This session once the channel's next session is known to start at `next_start`."""
        state = replace(self, is_open=False)
        if state.end_event_time is None and (state.end_time is None or next_start < state.end_time):
            state = replace(state, end_time=next_start)
        return state

    def attributes(self) -> dict:
        """The row's attributes this handler owns; None means the attribute is removed."""
        return {
            "startTime": self.start_time,
            "endTime": self.end_time,
            "isOpen": "true" if self.is_open else None,
            "isHealthy": self.is_healthy,
            "hasErrorEvent": self.has_error_event,
            "truncatedEvents": [dict(e) for e in self.events],
            "endEventTime": self.end_event_time,
            "healthEvent": self.health_event,
        }

    def changes_from(self, before: "SessionState") -> dict:
        """What a write of this state changes, for the log."""
        old, new = before.attributes(), self.attributes()
        changed = {
            name: value
            for name, value in new.items()
            if old[name] != value and name not in ("truncatedEvents", "endEventTime", "healthEvent")
        }
        added = [e for e in self.events if e not in before.events]
        if added:
            changed["eventsAdded"] = [e["name"] for e in added]
        return changed


@dataclass(frozen=True)
class Write:
    """One conditional write of a session row."""

    session_id: str
    before: SessionState
    after: SessionState


class StreamStore:
    """The two tables, as this handler reads and writes them."""

    def __init__(self, client, channels_table: str, streams_table: str):
        self._client = client
        self._channels = channels_table
        self._streams = streams_table

    def owner_of(self, channel_arn: str) -> str | None:
        """The id of the channels row that owns the channel ARN."""
        response = self._client.query(
            TableName=self._channels,
            IndexName="channelArnIndex",
            KeyConditionExpression="channelArn = :arn",
            ExpressionAttributeValues={":arn": {"S": channel_arn}},
            ProjectionExpression="id",
        )
        ids = sorted(item["id"]["S"] for item in response["Items"])
        return ids[0] if ids else None

    def marker_version(self, channel_arn: str) -> int:
        """The version on the channel's marker row; 0 before its first creation."""
        response = self._client.get_item(
            TableName=self._streams,
            Key=self._key(channel_arn, CHANNEL_MARKER),
            ProjectionExpression="#version",
            ExpressionAttributeNames={"#version": MARKER_VERSION},
            ConsistentRead=True,
        )
        return int(response.get("Item", {}).get(MARKER_VERSION, {}).get("N", "0"))

    def session(self, channel_arn: str, session_id: str) -> dict | None:
        """A session's row, read consistently."""
        response = self._client.get_item(
            TableName=self._streams,
            Key=self._key(channel_arn, session_id),
            ConsistentRead=True,
        )
        return _plain(response["Item"]) if "Item" in response else None

    def neighbour(self, channel_arn: str, start: str, session_id: str, later: bool) -> dict | None:
        """The session created right after (or right before) `start`, by startTime then id.

        The index orders sessions by startTime only; sessions created in the same second are
        read to the end of their tie, so more requests are made only when such ties exist.
        """
        operator = ">=" if later else "<="
        query = {
            "TableName": self._streams,
            "IndexName": "startTimeIndex",
            "KeyConditionExpression": f"channelArn = :arn AND startTime {operator} :start",
            "ExpressionAttributeValues": {":arn": {"S": channel_arn}, ":start": {"S": start}},
            "ScanIndexForward": later,
            "Limit": NEIGHBOURS,
            "ConsistentRead": True,
        }
        own = (start, session_id)
        candidates = []
        while True:
            response = self._client.query(**query)
            rows = [_plain(item) for item in response["Items"]]
            for row in rows:
                key = _session_order(row)
                if row["id"] != session_id and (key > own if later else key < own):
                    candidates.append(row)
            past_the_tie = any(row["startTime"] != start for row in rows)
            if past_the_tie or "LastEvaluatedKey" not in response:
                break
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        if not candidates:
            return None
        return (min if later else max)(candidates, key=_session_order)

    def _key(self, channel_arn: str, session_id: str) -> dict:
        return {"channelArn": {"S": channel_arn}, "id": {"S": session_id}}

    def _update(self, channel_arn: str, write: Write, user_sub: str) -> dict:
        sets = ["#stateVersion = :newVersion", "#userSub = :userSub"]
        removes = []
        names = {"#stateVersion": "stateVersion", "#userSub": "userSub"}
        values = {
            ":newVersion": {"N": str(write.before.version + 1)},
            ":userSub": {"S": user_sub},
        }
        for index, (name, value) in enumerate(write.after.attributes().items()):
            names[f"#a{index}"] = name
            if value is None:
                removes.append(f"#a{index}")
            else:
                sets.append(f"#a{index} = :a{index}")
                values[f":a{index}"] = _serialize(value)
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        condition, values[":oldVersion"] = _version_check("#stateVersion", write.before.version)
        return {
            "TableName": self._streams,
            "Key": self._key(channel_arn, write.session_id),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def write(self, channel_arn: str, write: Write, user_sub: str) -> None:
        """Write one session row if nobody else wrote it since it was read."""
        try:
            self._client.update_item(**self._update(channel_arn, write, user_sub))
        except ClientError as error:
            if error.response["Error"]["Code"] in (
                "ConditionalCheckFailedException",
                "TransactionConflictException",
            ):
                raise Conflict(write.session_id) from error
            raise

    def write_creation(
        self, channel_arn: str, writes: list[Write], marker_version: int, user_sub: str
    ) -> None:
        """Write the rows a creation changes and bump the channel's marker, all or nothing."""
        condition, old_version = _version_check("#version", marker_version)
        marker = {
            "TableName": self._streams,
            "Key": self._key(channel_arn, CHANNEL_MARKER),
            "UpdateExpression": "SET #version = :newVersion",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#version": MARKER_VERSION},
            "ExpressionAttributeValues": {
                ":newVersion": {"N": str(marker_version + 1)},
                ":oldVersion": old_version,
            },
        }
        items = [{"Update": marker}]
        items += [{"Update": self._update(channel_arn, w, user_sub)} for w in writes]
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                reasons = {r.get("Code") for r in error.response.get("CancellationReasons", [])}
                if reasons & {"ConditionalCheckFailed", "TransactionConflict"}:
                    raise Conflict(channel_arn) from error
            raise


def _version_check(name: str, version: int) -> tuple[str, dict]:
    """The condition that a row still has `version` (0: no version yet), and its value."""
    condition = f"{name} = :oldVersion"
    if not version:
        condition = f"attribute_not_exists({name}) OR {condition}"
    return condition, {"N": str(version)}


def _session_order(row: dict) -> tuple[str, str]:
    return (row["startTime"], row["id"])


def _plain(item: dict) -> dict:
    return {name: _deserialize(value) for name, value in item.items()}


def _apply_once(store: StreamStore, event: StreamEvent, owner_id: str) -> dict:
    """One optimistic attempt; raises Conflict when a row changed under it."""
    before = SessionState.from_item(store.session(event.channel_arn, event.session_id))
    after = before.apply(event)

    if not (event.detail_type == STATE_CHANGE and event.name == CREATED):
        if after == before:
            return {}
        store.write(event.channel_arn, Write(event.session_id, before, after), owner_id)
        return {event.session_id: after.changes_from(before)}

    marker_version = store.marker_version(event.channel_arn)
    start = after.start_time
    successor = store.neighbour(event.channel_arn, start, event.session_id, later=True)
    if successor is not None:
        after = after.followed_by(canonical_time(successor["startTime"]) or successor["startTime"])
    writes = [Write(event.session_id, before, after)]
    predecessor = store.neighbour(event.channel_arn, start, event.session_id, later=False)
    if predecessor is not None:
        previous = SessionState.from_item(predecessor)
        writes.append(Write(predecessor["id"], previous, previous.followed_by(start)))

    writes = [w for w in writes if w.after != w.before]
    if not writes:
        return {}
    store.write_creation(event.channel_arn, writes, marker_version, owner_id)
    return {w.session_id: w.after.changes_from(w.before) for w in writes}


def process(store: StreamStore, event: object, sleep=clock.sleep) -> dict:
    """Apply one EventBridge event to the streams table; returns what was done, for the log."""
    try:
        parsed = parse(event)
    except Ignored as reason:
        return {"eventId": _event_id(event), "outcome": "ignored", "reason": str(reason)}
    summary = {
        "eventId": parsed.event_id,
        "eventType": parsed.detail_type,
        "eventName": parsed.name,
        "channelArn": parsed.channel_arn,
        "sessionId": parsed.session_id,
    }

    owner_id = store.owner_of(parsed.channel_arn)
    if owner_id is None:
        return {**summary, "outcome": "ignored", "reason": "no channels row owns the channel"}
    for attempt in range(ATTEMPTS):
        if attempt:
            # Spread out writers that keep colliding on the same rows.
            sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))
        try:
            changes = _apply_once(store, parsed, owner_id)
        except Conflict:
            continue
        return {**summary, "outcome": "applied" if changes else "unchanged", "changes": changes}
    raise RuntimeError(
        f"event {parsed.event_id}: rows kept changing under {ATTEMPTS} attempts; retry later"
    )


def _event_id(event: object) -> str:
    return str(event.get("id", "")) if isinstance(event, dict) else ""


_store: StreamStore | None = None


def handler(event: dict, context: object) -> dict:
    """The Lambda entry point: one EventBridge event, one structured log line."""
    global _store
    if _store is None:
        client = boto3.client("dynamodb", config=Config(retries={"mode": "standard"}))
        _store = StreamStore(
            client, os.environ["CHANNELS_TABLE_NAME"], os.environ["STREAM_TABLE_NAME"]
        )
    result = process(_store, event)
    logger.info("stream event %s", result["outcome"], extra=result)
    return result
