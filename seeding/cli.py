"""`python -m seeding`: writes sample channels and sessions to a stack's tables, or deletes them."""

import argparse
import json
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
)
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from seeding import seed_file, stack_outputs, tables
from seeding.errors import BadInput, SeedingError
from seeding.rows import RowMaker, plan
from seeding.schema import CHANNEL_KEY, CHANNEL_PREFIX, SESSION_KEY, SESSION_PREFIX
from seeding.stack_outputs import StackOutputs
from seeding.writer import BatchWriter, Change, Outcome

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_COUNT = 50
DEFAULT_OFFLINE = 1
MAX_COUNT = 100_000
REPORTED_KEYS = 10

log = logging.getLogger("seeding")


@dataclass(frozen=True)
class Options:
    """One run's settings, after flags and environment variables are combined.

    `count_from` and `offline_from` name where a number came from, for messages; an
    `offline` of None is the default, which gives way when the seed file fills the count.
    """

    stack: str | None
    count: int
    offline: int | None
    json_path: Path | None
    seed: int | None
    dry_run: bool
    delete: bool
    outputs_file: Path | None
    endpoint_url: str | None
    count_from: str = "--count"
    offline_from: str = "--offline"


def whole_number(text: str) -> int:
    """A count from the command line or the environment: plain digits only."""
    if not re.fullmatch(r"-?[0-9]{1,9}", text.strip(), re.ASCII):
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a whole number")
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative")
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{text!r} is more than {MAX_COUNT:,}")
    return value


def _file_path(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path names no file")
    return Path(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m seeding",
        description="Seed a stack's channels and streams tables with made-up rows, or delete them.",
        epilog="STACK, SEED_COUNT, OFFLINE_SESSION_COUNT and JSON set the defaults; flags win.",
    )
    add = parser.add_argument
    add("--stack", help="the Pulumi stack whose tables to seed (env STACK)")
    add("--count", type=whole_number, help="stream sessions to write in all (env SEED_COUNT; 50)")
    add("--offline", type=whole_number, help="how many are ended (env OFFLINE_SESSION_COUNT; 1)")
    add("--json", type=_file_path, help="a seed file whose rows come first (env JSON)")
    add("--seed", type=int, help="make the made-up rows repeatable")
    add("--delete", action="store_true", help="remove every seeded row instead")
    add("--dry-run", action="store_true", help="print what would change, and change nothing")
    add(
        "--outputs-file",
        type=_file_path,
        help="a saved `pulumi stack output --json`, read instead of asking Pulumi for the stack",
    )
    add("--endpoint-url", help="where to send AWS calls, e.g. a local emulator (AWS_ENDPOINT_URL)")
    return parser


def _from_environment(environ: Mapping[str, str], name: str) -> int | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return whole_number(raw)
    except argparse.ArgumentTypeError as error:
        raise BadInput(f"Environment variable {name} must be a whole number, but {error}.")


def parse_options(argv: list[str] | None, environ: Mapping[str, str]) -> Options:
    """Combine flags with the environment variables the platform's old tooling read."""
    args = _parser().parse_args(argv)
    if args.stack is not None and args.outputs_file is not None:
        raise BadInput("--stack and --outputs-file both name the tables; pass one of them.")
    stack = (args.stack or environ.get("STACK", "")).strip() or None
    if stack is None and args.outputs_file is None:
        raise BadInput("No stack given; pass --stack NAME (or set STACK), or --outputs-file FILE.")
    _check_endpoint(args.endpoint_url, "--endpoint-url")
    _check_endpoint(environ.get("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL")
    if args.delete:
        for flag in ("count", "offline", "json", "seed"):
            if getattr(args, flag) is not None:
                raise BadInput(f"--{flag} has no meaning with --delete; drop it.")
        return Options(
            stack=stack,
            count=0,
            offline=0,
            json_path=None,
            seed=None,
            dry_run=args.dry_run,
            delete=True,
            outputs_file=args.outputs_file,
            endpoint_url=args.endpoint_url,
        )

    count, count_from = args.count, "--count"
    if count is None:
        count, count_from = _from_environment(environ, "SEED_COUNT"), "SEED_COUNT"
    if count is None:
        count, count_from = DEFAULT_COUNT, "the default count"
    offline, offline_from = args.offline, "--offline"
    if offline is None:
        offline, offline_from = (
            _from_environment(environ, "OFFLINE_SESSION_COUNT"),
            "OFFLINE_SESSION_COUNT",
        )
    json_path = args.json
    if json_path is None and environ.get("JSON", "").strip():
        json_path = Path(environ["JSON"].strip())
    return Options(
        stack=stack,
        count=count,
        offline=offline,
        json_path=json_path,
        seed=args.seed,
        dry_run=args.dry_run,
        delete=False,
        outputs_file=args.outputs_file,
        endpoint_url=args.endpoint_url,
        count_from=count_from,
        offline_from=offline_from,
    )


def _check_endpoint(url: str | None, source: str) -> None:
    if url is None:
        return
    try:
        parts = urlsplit(url)
        # Reading the port raises ValueError for one out of range or not a number.
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:
        usable = False
    if not usable:
        raise BadInput(f"{source} {url!r} is not a URL; use one such as http://127.0.0.1:5000.")


def _offline_count(options: Options, from_file: int) -> int:
    """How many made-up sessions are ended; fails when the numbers cannot add up."""
    if from_file > options.count:
        raise BadInput(
            f"The count of {options.count} ({options.count_from}) is less than the {from_file} "
            f"sessions in {options.json_path}; raise --count."
        )
    if options.offline is None:
        return min(DEFAULT_OFFLINE, options.count - from_file)
    if from_file + options.offline > options.count:
        raise BadInput(
            f"{options.offline} offline sessions ({options.offline_from}) do not fit in the "
            f"count of {options.count} ({options.count_from}) after the {from_file} sessions of "
            "the seed file; raise --count or lower --offline."
        )
    return options.offline


def _client(options: Options, region: str, session: boto3.session.Session):
    # Throttled calls are retried by botocore (AWS_MAX_ATTEMPTS sets how often); items a
    # successful call hands back unprocessed are retried by the writer.
    config = Config(retries={"mode": "standard"}, max_pool_connections=16)
    try:
        return session.client(
            "dynamodb", region_name=region, endpoint_url=options.endpoint_url, config=config
        )
    except (ValueError, BotoCoreError) as error:
        raise BadInput(
            f"The AWS client could not be set up ({error}); check --endpoint-url, "
            "AWS_ENDPOINT_URL, AWS_PROFILE and AWS_MAX_ATTEMPTS."
        )


def _apply(client, changes: list[Change], description: str) -> Outcome:
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )
    with progress:
        task = progress.add_task(description, total=len(changes))
        writer = BatchWriter(client, on_progress=lambda done: progress.advance(task, done))
        outcome = writer.run(changes)

    if outcome.failed:
        shown = ", ".join(f"{c.table} {_dumps(c.key)}" for c in outcome.failed[:REPORTED_KEYS])
        more = len(outcome.failed) - REPORTED_KEYS
        raise SeedingError(
            f"{len(outcome.failed)} row(s) were not {description.lower()} after repeated "
            f"retries: {shown}{f' and {more} more' if more > 0 else ''}; "
            "run the same command again once DynamoDB accepts writes."
        )
    return outcome


def _plain_number(value):
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _dumps(value) -> str:
    return json.dumps(value, default=_plain_number, ensure_ascii=False)


def _seed(options: Options, outputs: StackOutputs, client, out, from_file, offline: int) -> str:
    taken = tables.taken_values(client, outputs.channels_table)
    for row in from_file.channels if from_file else []:
        taken.add(row)
    maker = RowMaker(outputs.region, outputs.account_id, taken, datetime.now(UTC), options.seed)
    rows = plan(
        maker,
        options.count,
        offline,
        from_file.channels if from_file else [],
        from_file.sessions if from_file else [],
    )

    writes = [(outputs.channels_table, row, CHANNEL_KEY) for row in rows.channels]
    writes += [(outputs.streams_table, row, SESSION_KEY) for row in rows.sessions]
    live = sum(1 for row in rows.sessions if row.get("isOpen") == "true")
    summary = (
        f"{len(rows.channels)} channel row(s) to {outputs.channels_table} and "
        f"{len(rows.sessions)} stream session(s) ({live} live, {len(rows.sessions) - live} "
        f"offline) to {outputs.streams_table}"
    )
    if options.dry_run:
        for table, row, _ in writes:
            print(f"would put {table} {_dumps(row)}", file=out)
        return f"Dry run: would write {summary}; nothing was written."

    log.info("writing %d rows", len(writes))
    _apply(client, [Change.put(*write) for write in writes], "Written")
    return f"Wrote {summary}"


def _delete(options: Options, outputs: StackOutputs, client, out) -> str:
    sessions = tables.seeded_keys(client, outputs.streams_table, SESSION_KEY, SESSION_PREFIX)
    channels = tables.seeded_keys(client, outputs.channels_table, CHANNEL_KEY, CHANNEL_PREFIX)
    changes = [Change.delete(outputs.streams_table, key) for key in sessions]
    changes += [Change.delete(outputs.channels_table, key) for key in channels]
    summary = (
        f"{len(channels)} seeded channel row(s) from {outputs.channels_table} and "
        f"{len(sessions)} seeded stream session(s) from {outputs.streams_table}"
    )
    if options.dry_run:
        for change in changes:
            print(f"would delete {change.table} {_dumps(change.key)}", file=out)
        return f"Dry run: would delete {summary}; nothing was deleted."

    log.info("deleting %d rows", len(changes))
    _apply(client, changes, "Deleted")
    return f"Deleted {summary}"


def _run(options: Options, session: boto3.session.Session, out) -> None:
    """Read the inputs, then seed or delete, then print the summary."""
    started = time.monotonic()
    from_file = seed_file.load(options.json_path) if options.json_path else None
    offline = _offline_count(options, len(from_file.sessions) if from_file else 0)

    if options.outputs_file:
        outputs = stack_outputs.from_file(options.outputs_file)
    else:
        log.info("reading the outputs of stack %s with the Pulumi Automation API", options.stack)
        outputs = stack_outputs.from_stack(options.stack, PROJECT_DIR)
    log.info(
        "tables %s and %s in %s", outputs.channels_table, outputs.streams_table, outputs.region
    )

    client = _client(options, outputs.region, session)
    tables.check_keys(client, outputs.channels_table, CHANNEL_KEY, outputs.region)
    tables.check_keys(client, outputs.streams_table, SESSION_KEY, outputs.region)
    if options.delete:
        summary = _delete(options, outputs, client, out)
    else:
        summary = _seed(options, outputs, client, out, from_file, offline)
    if not options.dry_run:
        summary += f" in {time.monotonic() - started:.1f} s."
    print(summary, file=out)


def _aws_failure(error: Exception, emulated: bool) -> str:
    if isinstance(error, NoCredentialsError) and emulated:
        return (
            "No AWS credentials were found; a local emulator accepts any, so set "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to a dummy value such as testing."
        )
    if isinstance(error, NoCredentialsError):
        return (
            "No AWS credentials were found; sign in (aws sso login, AWS_PROFILE or the AWS_* "
            "variables), or pass --endpoint-url for a local emulator."
        )
    if isinstance(error, EndpointConnectionError):
        return (
            f"Could not reach {error.kwargs.get('endpoint_url')}; "
            "check --endpoint-url or AWS_ENDPOINT_URL."
        )
    if isinstance(error, ClientError):
        detail = error.response.get("Error", {})
        code = detail.get("Code", "")
        advice = (
            "check the credentials' permissions and the region"
            if "Denied" in code or "Unrecognized" in code or "Token" in code
            else "see the reason given"
        )
        # A server that is not AWS may answer with a whole page; its first line is enough.
        reason = (str(detail.get("Message") or "").strip().splitlines() or [""])[0][:200]
        return f"AWS refused {error.operation_name}: {code}: {reason}; {advice}."
    return f"The AWS SDK failed: {error}; check the credentials, region and endpoint."


def _session() -> boto3.session.Session:
    try:
        return boto3.session.Session()
    except BotoCoreError as error:
        raise BadInput(f"The AWS configuration cannot be used ({error}); check AWS_PROFILE.")


def _log_to_stderr() -> None:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("seeding: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def main(
    argv: list[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    session: boto3.session.Session | None = None,
    out=None,
) -> int:
    """Run the CLI; returns the exit code (2 for input to fix, 1 for other failures)."""
    _log_to_stderr()
    environ = os.environ if environ is None else environ
    out = out or sys.stdout
    if out is sys.stdout and hasattr(out, "reconfigure"):
        out.reconfigure(errors="backslashreplace")
    options = None
    try:
        options = parse_options(argv, environ)
        _run(options, session or _session(), out)
    except SeedingError as error:
        print(error, file=sys.stderr)
        return error.exit_code
    except (BotoCoreError, ClientError) as error:
        emulated = bool((options and options.endpoint_url) or environ.get("AWS_ENDPOINT_URL"))
        print(_aws_failure(error, emulated), file=sys.stderr)
        return 1
    except BrokenPipeError:
        # Whoever read the output stopped (as `| head` does); there is nobody left to tell.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        print(
            f"The run stopped on an operating-system error ({error}); check disk space, "
            "permissions and where the output goes.",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print(
            "Interrupted; rows already sent stay written, and --delete removes them.",
            file=sys.stderr,
        )
        return 130
    return 0
