"""Shared fixtures: the program under mocks, a moto server, and tables made from the program."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from emulator.program import PROJECT_DIR, ProgramRun, run_program
from emulator.server import CREDENTIALS, MotoServer
from emulator.tables import create_tables

TESTS_DIR = Path(__file__).resolve().parent
EVENTS_DIR = TESTS_DIR / "events"
EXAMPLE_SEED_FILE = PROJECT_DIR / "examples" / "seed.example.json"
STANDINS_DIR = TESTS_DIR / "standins"
# What the Lambda runtime puts in every function's environment (the credentials are moto's).
LAMBDA_PROVIDED = {
    "AWS_REGION": "us-west-2",
    "AWS_DEFAULT_REGION": "us-west-2",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@pytest.fixture(scope="session")
def dev_program() -> ProgramRun:
    """The program as the dev stack declares it."""
    return run_program("dev")


@pytest.fixture(scope="session")
def prod_program() -> ProgramRun:
    """The program as the prod stack declares it."""
    return run_program("prod")


@pytest.fixture(scope="session")
def moto_server():
    """One moto server for the whole test session, on a free port of 127.0.0.1."""
    with MotoServer() as server:
        yield server


@pytest.fixture
def aws_env(monkeypatch):
    """Credentials moto accepts, and nothing from the developer's own AWS setup."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")


@dataclass
class Stack:
    """A stack's tables inside moto, with the outputs `pulumi stack output --json` would print."""

    endpoint_url: str
    outputs: dict
    outputs_file: Path
    client: object

    @property
    def channels_table(self) -> str:
        return self.outputs["channelsTableName"]

    @property
    def streams_table(self) -> str:
        return self.outputs["streamsTableName"]

    def cli_args(self, *extra: str) -> list[str]:
        """Arguments that point the seeding CLI at these tables."""
        return [
            "--outputs-file",
            str(self.outputs_file),
            "--endpoint-url",
            self.endpoint_url,
            *extra,
        ]

    def rows(self, table: str) -> list[dict]:
        """Every row of a table, as plain Python values."""
        resource = boto3.resource(
            "dynamodb", region_name=self.outputs["region"], endpoint_url=self.endpoint_url
        )
        items = []
        response = resource.Table(table).scan()
        items += response["Items"]
        while "LastEvaluatedKey" in response:
            response = resource.Table(table).scan(ExclusiveStartKey=response["LastEvaluatedKey"])
            items += response["Items"]
        return items


@pytest.fixture
def stack(moto_server, dev_program, aws_env, tmp_path) -> Stack:
    """Empty tables in moto, created from the dev stack's declarations."""
    moto_server.reset()
    client = boto3.client(
        "dynamodb", region_name=dev_program.outputs["region"], endpoint_url=moto_server.endpoint_url
    )
    create_tables(client, dev_program)
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(dev_program.outputs))
    return Stack(moto_server.endpoint_url, dict(dev_program.outputs), outputs_file, client)


def run_module(module: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run `python -m module args` of this project in a child process, as a user would."""
    child_env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR), **env}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=PROJECT_DIR,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


class StandinPulumi:
    """The stand-in `pulumi` executable on PATH: its stacks, and the commands it was given."""

    def __init__(self, directory: Path):
        self.stacks_file = directory / "stacks.json"
        self.log_file = directory / "commands.log"
        self.log_file.touch()
        self.set_stacks({})

    def set_stacks(self, stacks: dict) -> None:
        """Which stacks exist, and their outputs."""
        self.stacks_file.write_text(json.dumps(stacks))

    def commands(self) -> list[list[str]]:
        """Every command line the stand-in was run with, in order, global flags left out."""
        lines = self.log_file.read_text().splitlines()
        return [[arg for arg in json.loads(line) if arg != "--non-interactive"] for line in lines]


@pytest.fixture
def standin_pulumi(monkeypatch, tmp_path) -> StandinPulumi:
    """Put the stand-in `pulumi` first on PATH, for this process and its children."""
    standin = StandinPulumi(tmp_path)
    monkeypatch.setenv("STANDIN_PULUMI_STACKS", str(standin.stacks_file))
    monkeypatch.setenv("STANDIN_PULUMI_LOG", str(standin.log_file))
    monkeypatch.setenv("PATH", os.pathsep.join([str(STANDINS_DIR), os.environ.get("PATH", "")]))
    monkeypatch.delenv("PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK", raising=False)
    return standin


class UnprocessedItems:
    """Makes BatchWriteItem hand back chosen requests unprocessed, without sending them.

    `hold(table, request, seen)` decides per request; `seen` counts how often that request
    was offered before. Register on a boto3 session or a client's event system.
    """

    def __init__(self, events, hold):
        self._hold = hold
        self._seen: dict[str, int] = {}
        self.calls = 0
        events.register("before-parameter-build.dynamodb.BatchWriteItem", self._hold_back)
        events.register("before-call.dynamodb.BatchWriteItem", self._answer_when_nothing_is_left)
        events.register("after-call.dynamodb.BatchWriteItem", self._report)

    def _hold_back(self, params, context, **_):
        self.calls += 1
        held: dict[str, list] = {}
        kept: dict[str, list] = {}
        for table, requests in params["RequestItems"].items():
            for request in requests:
                fingerprint = json.dumps([table, request], sort_keys=True)
                seen = self._seen.get(fingerprint, 0)
                self._seen[fingerprint] = seen + 1
                target = held if self._hold(table, request, seen) else kept
                target.setdefault(table, []).append(request)
        context["held"] = held
        context["nothing_left"] = not kept
        if kept:
            params["RequestItems"] = kept

    def _answer_when_nothing_is_left(self, context, **_):
        if context.get("nothing_left"):
            from botocore.awsrequest import AWSResponse

            return AWSResponse("http://held", 200, {}, None), {"UnprocessedItems": {}}
        return None

    def _report(self, parsed, context, **_):
        if context.get("held"):
            parsed["UnprocessedItems"] = context["held"]


def load_event(name: str) -> dict:
    """One of the IVS events in tests/events, by file name without `.json`."""
    return json.loads((EVENTS_DIR / f"{name}.json").read_text())


FIXTURE_SESSION = [
    "01-session-created",
    "02-stream-start",
    "03-starvation-start",
    "04-starvation-end",
    "05-limit-breach",
    "06-session-ended",
    "07-stream-end",
]
FOREIGN_EVENTS = ["90-cloudtrail-create-channel", "91-stage-participant-unpublished"]
