"""The batch writer: fewest calls, unprocessed items retried with backoff, leftovers reported."""

import io
import random

import boto3

from seeding.cli import main
from seeding.schema import CHANNEL_KEY, SESSION_KEY
from seeding.writer import BATCH_SIZE, Backoff, BatchWriter, Change
from tests.conftest import UnprocessedItems


def _changes(stack, channels: int, sessions: int) -> list[Change]:
    changes = [
        Change.put(
            stack.channels_table, {"id": f"mock-user-id-{i}", "username": f"u{i}"}, CHANNEL_KEY
        )
        for i in range(channels)
    ]
    changes += [
        Change.put(
            stack.streams_table,
            {"channelArn": f"arn:c{i}", "id": f"mock-stream-id-{i}"},
            SESSION_KEY,
        )
        for i in range(sessions)
    ]
    return changes


def _client(stack):
    return boto3.client("dynamodb", region_name="us-west-2", endpoint_url=stack.endpoint_url)


def test_writer_makes_the_fewest_calls_when_nothing_is_held_back(stack):
    client = _client(stack)
    calls = []
    client.meta.events.register("after-call.dynamodb.BatchWriteItem", lambda **_: calls.append(1))

    outcome = BatchWriter(client).run(_changes(stack, 51, 50))

    assert len(calls) == outcome.calls == -(-101 // BATCH_SIZE) == 5
    assert outcome.done == {stack.channels_table: 51, stack.streams_table: 50}
    assert outcome.failed == []
    assert (
        len(stack.rows(stack.channels_table)) == 51 and len(stack.rows(stack.streams_table)) == 50
    )


def test_items_handed_back_unprocessed_are_sent_again_until_written(stack):
    client = _client(stack)
    held = UnprocessedItems(client.meta.events, lambda table, request, seen: seen < 2)
    sleeps = []

    outcome = BatchWriter(client, sleep=sleeps.append).run(_changes(stack, 30, 30))

    assert outcome.failed == []
    assert (
        len(stack.rows(stack.channels_table)) == 30 and len(stack.rows(stack.streams_table)) == 30
    )
    assert held.calls == 3 * -(-60 // BATCH_SIZE)
    assert len(sleeps) == 2 * -(-60 // BATCH_SIZE)


def test_items_still_unprocessed_after_the_last_attempt_are_reported_with_their_keys(stack):
    client = _client(stack)
    stubborn = {"S": "mock-stream-id-3"}
    UnprocessedItems(
        client.meta.events,
        lambda table, request, seen: (
            request.get("PutRequest", {}).get("Item", {}).get("id") == stubborn
        ),
    )
    sleeps = []
    backoff = Backoff(attempts=5, base=0.1, cap=0.5)

    outcome = BatchWriter(client, backoff=backoff, sleep=sleeps.append).run(_changes(stack, 5, 5))

    assert [change.key for change in outcome.failed] == [
        {"channelArn": "arn:c3", "id": "mock-stream-id-3"}
    ]
    assert len(stack.rows(stack.streams_table)) == 4
    assert len(sleeps) == backoff.attempts - 1
    assert all(
        0 <= pause <= min(backoff.cap, backoff.base * 2**n) for n, pause in enumerate(sleeps)
    )


def test_backoff_doubles_its_ceiling_up_to_the_cap_and_jitters_below_it():
    backoff = Backoff(attempts=8, base=0.05, cap=2.0)
    rng = random.Random(1)

    delays = [[backoff.delay(retry, rng) for _ in range(200)] for retry in range(8)]

    for retry, samples in enumerate(delays):
        ceiling = min(2.0, 0.05 * 2**retry)
        assert max(samples) <= ceiling
        assert max(samples) > ceiling * 0.9
        assert min(samples) < ceiling * 0.1


def test_deletes_go_through_the_same_batches(stack):
    client = _client(stack)
    BatchWriter(client).run(_changes(stack, 30, 0))

    keys = [{"id": f"mock-user-id-{i}"} for i in range(30)]
    outcome = BatchWriter(client).run(Change.delete(stack.channels_table, key) for key in keys)

    assert outcome.done == {stack.channels_table: 30}
    assert stack.rows(stack.channels_table) == []


def test_the_cli_exits_1_naming_the_rows_it_could_not_write(stack, capsys):
    session = boto3.session.Session()
    UnprocessedItems(
        session.events,
        lambda table, request, seen: (
            table == stack.streams_table and "isOpen" not in request["PutRequest"]["Item"]
        ),
    )

    code = main(
        stack.cli_args("--count", "4", "--offline", "2"),
        environ={},
        session=session,
        out=io.StringIO(),
    )

    error = capsys.readouterr().err
    assert code == 1
    assert "2 row(s) were not written after repeated retries" in error
    assert error.count(f'{stack.streams_table} {{"channelArn"') == 2
    assert len(stack.rows(stack.streams_table)) == 2
