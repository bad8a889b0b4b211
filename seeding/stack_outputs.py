"""Finds the stack's tables, region and account in its outputs."""

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pulumi import automation as auto

from seeding.errors import BadInput, SeedingError

# Attribute, output name, and what a usable value looks like.
REQUIRED = {
    "region": (
        "region",
        re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]", re.ASCII),
        "a region such as us-west-2",
    ),
    "account_id": ("accountId", re.compile(r"[0-9]{12}", re.ASCII), "a 12-digit account id"),
    "channels_table": ("channelsTableName", re.compile(r"[\w.-]{3,255}", re.ASCII), "a table name"),
    "streams_table": ("streamsTableName", re.compile(r"[\w.-]{3,255}", re.ASCII), "a table name"),
}


@dataclass(frozen=True)
class StackOutputs:
    """The outputs the seeder needs, and where they came from (for messages)."""

    source: str
    region: str
    account_id: str
    channels_table: str
    streams_table: str


def _parse(values: dict, source: str, fix: str) -> StackOutputs:
    if not values:
        raise BadInput(f"{source} has no outputs; {fix}.")
    found = {}
    for attribute, (name, pattern, looks_like) in REQUIRED.items():
        value = values.get(name)
        if value is None or value == "":
            raise BadInput(f"{source} has no {name} output; {fix}.")
        if value == "[secret]":
            raise BadInput(
                f"{source} holds {name} as a secret; save it with "
                "`pulumi stack output --json --show-secrets`."
            )
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise BadInput(f"{source} has {name} {value!r}, which is not {looks_like}; {fix}.")
        found[attribute] = value
    if found["channels_table"] == found["streams_table"]:
        raise BadInput(f"{source} names one table for both channels and streams; {fix}.")
    return StackOutputs(source=source, **found)


def from_file(path: Path) -> StackOutputs:
    """Outputs saved with `pulumi stack output --json > FILE`."""
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(
            f"Outputs file {path} does not exist; "
            f"save one with `pulumi stack output --json > {path}`."
        )
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise BadInput(
            f"Outputs file {path} is not the JSON that `pulumi stack output --json` prints "
            f"({error}); save it again."
        )
    if not isinstance(values, dict):
        raise BadInput(
            f"Outputs file {path} must hold a JSON object of output names to values; save it again."
        )
    return _parse(values, f"Outputs file {path}", "save it again from a deployed stack")


def from_stack(stack: str, project_dir: Path) -> StackOutputs:
    """Outputs of a stack of the project in `project_dir`, read through the Automation API.

    The user's selected stack stays as it was.
    """
    try:
        workspace = auto.LocalWorkspace(work_dir=str(project_dir))
        outputs = workspace.stack_outputs(stack)
    except FileNotFoundError:
        raise SeedingError(
            "The pulumi CLI is not on PATH; install it, or pass --outputs-file with the output "
            "of `pulumi stack output --json`."
        )
    except (OSError, subprocess.CalledProcessError) as error:
        raise SeedingError(
            f"The pulumi CLI on PATH could not run ({error}); check the installation."
        )
    except auto.InvalidVersionError as error:
        raise SeedingError(f"The pulumi CLI on PATH cannot be used ({error}); install Pulumi 3.x.")
    except auto.StackNotFoundError:
        raise BadInput(
            f"Stack {stack!r} does not exist in the project at {project_dir}; "
            "pick one from `pulumi stack ls` and pass it with --stack."
        )
    except auto.CommandError as error:
        detail = _first_error_line(error)
        raise SeedingError(
            f"`pulumi stack output --stack {stack}` failed ({detail}); run it yourself to see why."
        )
    except ValueError as error:
        raise SeedingError(
            f"`pulumi stack output --json --stack {stack}` printed something that is not JSON "
            f"({error}); run it yourself to see why."
        )
    return _parse(
        {name: output.value for name, output in outputs.items()},
        f"Stack {stack!r}",
        f"deploy it with `pulumi up --stack {stack}` first",
    )


def _first_error_line(error: auto.CommandError) -> str:
    _, _, stderr = str(error).partition(" stderr: ")
    for line in stderr.splitlines():
        if line.strip():
            return line.strip().removeprefix("error: ")
    return "it printed no error"
