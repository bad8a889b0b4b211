"""`python -m emulator`: the seeding job end to end on this machine, without an AWS account.

Starts moto on 127.0.0.1, creates the tables the program declares for a stack, runs
`python -m seeding` against them (the defaults plus the example seed file), prints what the
tables hold, and stops the emulator.
"""

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

import boto3
from rich.console import Console
from rich.table import Table
from rich.text import Text

from emulator.program import PROJECT_DIR, run_program
from emulator.server import CREDENTIALS, MotoServer
from emulator.tables import create_tables
from seeding.cli import main as seeding_main
from seeding.cli import whole_number
from settings import ConfigError

EXAMPLE_SEED_FILE = PROJECT_DIR / "examples" / "seed.example.json"
SHOWN_ROWS = 8


def _scan_all(client, table: str) -> list[dict]:
    deserializer = boto3.dynamodb.types.TypeDeserializer()
    rows = []
    for page in client.get_paginator("scan").paginate(TableName=table):
        rows += [
            {k: deserializer.deserialize(v) for k, v in item.items()} for item in page["Items"]
        ]
    return rows


def _summary(console: Console, client, outputs: dict) -> None:
    channels = _scan_all(client, outputs["channelsTableName"])
    sessions = _scan_all(client, outputs["streamsTableName"])
    state = Counter("live" if s.get("isOpen") == "true" else "offline" for s in sessions)
    console.print(
        f"{outputs['channelsTableName']}: {len(channels)} channel rows; "
        f"{outputs['streamsTableName']}: {len(sessions)} stream sessions "
        f"({state['live']} live, {state['offline']} offline)"
    )

    owners = {c["channelArn"]: c for c in channels if "channelArn" in c}
    newest = sorted(sessions, key=lambda s: s.get("startTime", ""), reverse=True)
    table = Table("username", "state", "started", "ended", title="Newest sessions")
    for session in newest[:SHOWN_ROWS]:
        table.add_row(
            Text(str(owners.get(session["channelArn"], {}).get("username", "?"))),
            "live" if session.get("isOpen") == "true" else "offline",
            Text(str(session.get("startTime", ""))),
            Text(str(session.get("endTime") or "")),
        )
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    """Run the local seeding job; returns the seeding CLI's exit code."""
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev", help="whose configuration declares the tables")
    parser.add_argument("--json", type=Path, default=EXAMPLE_SEED_FILE, help="seed file to include")
    parser.add_argument("--count", type=whole_number, help="passed on to python -m seeding")
    parser.add_argument("--offline", type=whole_number, help="passed on to python -m seeding")
    args = parser.parse_args(argv)
    # Paths, names and rows are printed as they are, never read as rich markup.
    console = Console(markup=False, highlight=False)

    if not args.json.is_file():
        print(
            f"Seed file {args.json} does not exist; pass --json with a seed file.", file=sys.stderr
        )
        return 2
    if not (PROJECT_DIR / f"Pulumi.{args.stack}.yaml").is_file():
        stacks = sorted(p.name.split(".")[1] for p in PROJECT_DIR.glob("Pulumi.*.yaml"))
        print(
            f"There is no Pulumi.{args.stack}.yaml to read stack {args.stack!r} from; "
            f"pass --stack with one of {', '.join(stacks)}.",
            file=sys.stderr,
        )
        return 2
    try:
        run = run_program(args.stack)
    except ConfigError as error:
        print(f"Stack {args.stack} cannot be used: {error}", file=sys.stderr)
        return 2
    # Only the emulator's own AWS setup applies: none of the user's profiles, files or retries.
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(CREDENTIALS)
    os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    # The emulator is on this machine: no proxy stands between it and the clients.
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    with MotoServer() as server, tempfile.TemporaryDirectory() as scratch:
        console.print(f"Local AWS (moto) on {server.endpoint_url}")
        client = boto3.client(
            "dynamodb", region_name=run.outputs["region"], endpoint_url=server.endpoint_url
        )
        for name in create_tables(client, run):
            console.print(
                f"Created table {name} from the program's declaration for stack {args.stack}"
            )

        outputs_file = Path(scratch) / "outputs.json"
        outputs_file.write_text(json.dumps(run.outputs))
        command = ["--outputs-file", str(outputs_file)]
        command += ["--endpoint-url", server.endpoint_url, "--json", str(args.json)]
        for flag in ("count", "offline"):
            if getattr(args, flag) is not None:
                command += [f"--{flag}", str(getattr(args, flag))]
        console.print(f"$ python -m seeding {' '.join(command)}")
        sys.stdout.flush()
        code = seeding_main(command, environ={})
        if code == 0:
            _summary(console, client, run.outputs)
    console.print("Local AWS stopped; nothing was kept.")
    return code


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        print("Interrupted; the local AWS was stopped and nothing was kept.", file=sys.stderr)
        raise SystemExit(130) from None
