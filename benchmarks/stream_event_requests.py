"""DynamoDB requests per stream event, for a channel with 10 and with 10,000 past sessions.

Run with `make benchmark` (or `venv/bin/python -m benchmarks.stream_event_requests`). Prints
the requests each event of one new session costs, counted through botocore, for both channels,
and exits 1 unless the two columns are equal.
"""

import argparse
import copy
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3

from emulator.program import run_program
from emulator.server import CREDENTIALS, MotoServer
from emulator.tables import create_tables
from handlers.stream_events import StreamStore, process
from seeding.schema import SESSION_KEY
from seeding.writer import BatchWriter, Change

EVENTS_DIR = Path(__file__).resolve().parent.parent / "tests" / "events"
# One session's events as IVS sends them, numbered in the order it sent them.
SESSION_EVENTS = sorted(path.stem for path in EVENTS_DIR.glob("0*.json"))


def _past_sessions(channel_arn: str, count: int) -> list[dict]:
    """Ended sessions, one an hour, all before the fixture session starts."""
    first = datetime(2026, 11, 20, 17, tzinfo=UTC) - timedelta(hours=count)
    rows = []
    for number in range(count):
        start = first + timedelta(hours=number)
        rows.append(
            {
                "channelArn": channel_arn,
                "id": f"st-past-{number:05}",
                "startTime": start.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "endTime": (start + timedelta(minutes=30))
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "isHealthy": True,
                "hasErrorEvent": False,
                "truncatedEvents": [],
            }
        )
    return rows


def _requests_per_event(client, outputs: dict, channel_arn: str, history: int) -> list[int]:
    client.put_item(
        TableName=outputs["channelsTableName"],
        Item={"id": {"S": f"owner-{history}"}, "channelArn": {"S": channel_arn}},
    )
    past = _past_sessions(channel_arn, history)
    BatchWriter(client).run(Change.put(outputs["streamsTableName"], r, SESSION_KEY) for r in past)

    store = StreamStore(client, outputs["channelsTableName"], outputs["streamsTableName"])
    counts = []
    calls: list = []
    client.meta.events.register("after-call.dynamodb", lambda **_: calls.append(1))
    for name in SESSION_EVENTS:
        event = copy.deepcopy(json.loads((EVENTS_DIR / f"{name}.json").read_text()))
        event["resources"] = [channel_arn]
        calls.clear()
        outcome = process(store, event)["outcome"]
        if outcome != "applied":
            raise SystemExit(f"{name} was {outcome}, not applied")
        counts.append(len(calls))
    client.meta.events.unregister("after-call.dynamodb")
    return counts


def main() -> int:
    """Run both channels through the same session and compare."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long-history", type=int, default=10_000)
    args = parser.parse_args()
    os.environ.update(CREDENTIALS)
    program = run_program("dev")

    with MotoServer() as server:
        client = boto3.client(
            "dynamodb", region_name=program.outputs["region"], endpoint_url=server.endpoint_url
        )
        create_tables(client, program)
        short = _requests_per_event(client, program.outputs, "arn:aws:ivs:::channel/short", 10)
        long = _requests_per_event(
            client, program.outputs, "arn:aws:ivs:::channel/long", args.long_history
        )

    print(f"{'event':<22}{'10 past sessions':>18}{f'{args.long_history:,} past sessions':>22}")
    for name, few, many in zip(SESSION_EVENTS, short, long, strict=True):
        print(f"{name:<22}{few:>18}{many:>22}")
    if short != long:
        print("FAIL: an event costs more requests on the channel with the longer history")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
