"""Seeding 2,000 channels into the local emulator: the CLI's writer against one PutItem per row.

Run with `make benchmark` (or `venv/bin/python -m benchmarks.seed_writer`). Prints both times,
their ratio and the writer's request count, and exits 1 if the writer used more requests than
the minimum of one per 25 rows.
"""

import argparse
import os
import time
from datetime import UTC, datetime

import boto3

from emulator.program import run_program
from emulator.server import CREDENTIALS, MotoServer
from emulator.tables import create_tables
from seeding.rows import RowMaker, Taken, plan
from seeding.schema import CHANNEL_KEY, SESSION_KEY
from seeding.writer import BATCH_SIZE, BatchWriter, Change


def _rows(outputs: dict, channels: int) -> list[tuple[str, dict, tuple[str, ...]]]:
    maker = RowMaker(outputs["region"], outputs["accountId"], Taken(), datetime.now(UTC), seed=1)
    rows = plan(maker, count=channels, offline=channels // 10)
    return [(outputs["channelsTableName"], row, CHANNEL_KEY) for row in rows.channels] + [
        (outputs["streamsTableName"], row, SESSION_KEY) for row in rows.sessions
    ]


def _counting_client(endpoint_url: str, region: str, counter: list):
    client = boto3.client("dynamodb", region_name=region, endpoint_url=endpoint_url)
    client.meta.events.register("after-call.dynamodb.*", lambda **_: counter.append(1))
    return client


def main() -> int:
    """Run both ways on fresh tables and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=2000)
    args = parser.parse_args()
    os.environ.update(CREDENTIALS)
    program = run_program("dev")
    rows = _rows(program.outputs, args.channels)
    region = program.outputs["region"]

    with MotoServer() as server:
        admin = boto3.client("dynamodb", region_name=region, endpoint_url=server.endpoint_url)

        create_tables(admin, program)
        writer_calls: list = []
        client = _counting_client(server.endpoint_url, region, writer_calls)
        started = time.perf_counter()
        outcome = BatchWriter(client).run(Change.put(table, row, key) for table, row, key in rows)
        writer_seconds = time.perf_counter() - started

        server.reset()
        create_tables(admin, program)
        put_calls: list = []
        client = _counting_client(server.endpoint_url, region, put_calls)
        started = time.perf_counter()
        for table, row, key in rows:
            client.put_item(
                TableName=table, Item=Change.put(table, row, key).request["PutRequest"]["Item"]
            )
        put_seconds = time.perf_counter() - started

    minimum = -(-len(rows) // BATCH_SIZE)
    print(f"rows: {len(rows)} ({args.channels} channels, each with one stream session)")
    print(
        f"batch writer: {writer_seconds:.2f} s in {len(writer_calls)} requests (minimum {minimum})"
    )
    print(f"one PutItem per row: {put_seconds:.2f} s in {len(put_calls)} requests")
    print(f"ratio: the batch writer is {put_seconds / writer_seconds:.1f}x faster")
    if outcome.failed or len(writer_calls) > minimum:
        print("FAIL: the batch writer used more requests than the minimum or left rows unwritten")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
