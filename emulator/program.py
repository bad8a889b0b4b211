"""Runs the Pulumi program under Pulumi's mocks and records every resource it declares.

Tests assert on the recording, and the local emulator creates its tables from it, so both
see exactly what `pulumi up` would be asked to create.
"""

import asyncio
import json
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from settings import ConfigError

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "ugc"
ACCOUNT_ID = "123456789012"


@dataclass
class Declared:
    """One resource as the program declared it.

    `inputs` are camelCased with numbers as floats; `state` adds what the mocks made up for
    the outputs AWS would fill in (physical name, ARN).
    """

    type: str
    name: str
    id: str
    urn: str
    parent: str
    inputs: dict[str, Any]
    state: dict[str, Any]
    protect: bool
    ignore_changes: list[str]
    provider: str
    custom: bool
    transforms: list = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    providers: dict[str, str] = field(default_factory=dict)


@dataclass
class ProgramRun:
    """What one run of the program declared and exported."""

    stack: str
    resources: list[Declared]
    outputs: dict[str, Any]

    def of_type(self, type_: str) -> list[Declared]:
        """Every resource of a type token such as `aws:dynamodb/table:Table`."""
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> Declared:
        """The one resource with this logical name."""
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources are named {name!r}")
        return found[0]

    def children_of(self, parent: Declared) -> list[Declared]:
        """The resources whose parent is `parent`."""
        return [r for r in self.resources if r.parent == parent.urn]


REGION = "us-west-2"

# How AWS spells the ARN of each resource type the program declares: service, then resource.
_ARN_SHAPES = {
    "aws:dynamodb/table:Table": ("dynamodb", "table/{}"),
    "aws:lambda/function:Function": ("lambda", "function:{}"),
    "aws:sqs/queue:Queue": ("sqs", "{}"),
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "log-group:{}"),
    "aws:cloudwatch/eventRule:EventRule": ("events", "rule/{}"),
    "aws:iam/role:Role": ("iam", "role/{}"),
    "aws:cognito/userPool:UserPool": ("cognito-idp", "userpool/{}"),
}


def _fake_arn(type_: str, name: str) -> str:
    service, resource = _ARN_SHAPES.get(type_, (type_.split(":")[1].split("/")[0], "{}"))
    region = "" if service == "iam" else REGION
    return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{resource.format(name)}"


class _Mocks(pulumi.runtime.Mocks):
    """Answers the engine's calls the way AWS would, with stable made-up values."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        state = dict(args.inputs)
        physical = state.get("name") or f"{args.name}-0000000"
        state.setdefault("name", physical)
        state.setdefault("arn", _fake_arn(args.typ, physical))
        if args.typ == "aws:sqs/queue:Queue":
            state.setdefault("url", f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{physical}")
        if args.typ == "aws:lb/loadBalancer:LoadBalancer":
            state.setdefault("dnsName", f"{physical}.{REGION}.elb.amazonaws.com")
        if args.typ == "awsx:ecr:Repository":
            state.setdefault("url", f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/{physical}")
        if args.typ == "awsx:ecr:Image":
            state.setdefault("imageUri", f"{args.inputs.get('repositoryUrl')}:built")
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/mock",
                "id": ACCOUNT_ID,
                "userId": "AIDAMOCK",
            }
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{REGION}{letter}" for letter in "abcd"]
            return {"id": REGION, "names": names, "zoneIds": [f"usw2-az{n}" for n in range(1, 5)]}
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": "us-west-2", "region": "us-west-2", "id": "us-west-2"}
        return {}


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that also keeps each registration's options."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.declared: list[Declared] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = pulumi.runtime.rpc.deserialize_properties(request.object)
            self.declared.append(
                Declared(
                    type=request.type,
                    name=request.name,
                    id=response.id,
                    urn=response.urn,
                    parent=request.parent,
                    inputs=inputs,
                    state=pulumi.runtime.rpc.deserialize_properties(response.object),
                    protect=bool(request.protect),
                    ignore_changes=list(request.ignoreChanges),
                    provider=request.provider,
                    custom=bool(request.custom),
                    transforms=pulumi_mocks._resolve_callbacks(request.transforms),
                    providers=dict(request.providers),
                    property_dependencies={
                        name: list(deps.urns) for name, deps in request.propertyDependencies.items()
                    },
                )
            )
        return response


def stack_config(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """The stack's configuration from `Pulumi.<stack>.yaml`, as the engine hands it over.

    Encrypted (`secure:`) values are left out: only the stack's secrets provider can read them.
    """
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        return {}
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path.name} is not readable YAML ({error}); fix the file.")
    if not isinstance(document, dict) or not isinstance(document.get("config") or {}, dict):
        raise ConfigError(f"{path.name} must hold a `config:` mapping of keys to values.")
    config: dict[str, str] = {}
    for key, value in (document.get("config") or {}).items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            # Encrypted values need the stack's secrets provider; a run under mocks goes without.
            continue
        if isinstance(value, bool):
            config[full_key] = "true" if value else "false"
        elif isinstance(value, (dict, list)):
            config[full_key] = json.dumps(value)
        else:
            config[full_key] = str(value)
    return config


# The image is environment-specific and left out of the stack files; a run under mocks
# declares nothing that pulls it.
STAND_IN_IMAGE = {"ugc:apiImage": "registry.invalid/ugc-api:mocks"}


def run_program(
    stack: str = "dev",
    overrides: dict[str, str | None] | None = None,
    project_dir: Path = PROJECT_DIR,
    secret_keys: tuple[str, ...] = (),
) -> ProgramRun:
    """Run `__main__.py` for a stack under mocks.

    Args:
        overrides: configuration to set on top of the stack's file (`None` removes a key).
            A stack without an API image gets a stand-in one, unless overrides remove it.
        secret_keys: configuration keys to treat as set with `pulumi config set --secret`.
    """
    config = stack_config(stack, project_dir)
    if "ugc:apiImage" not in config and "ugc:apiBuildContext" not in config:
        config.update(STAND_IN_IMAGE)
    for key, value in (overrides or {}).items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value

    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))

    mocks = _Mocks()
    monitor = _RecordingMonitor(mocks)
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(config, list(secret_keys))
    pulumi_settings.SETTINGS.rpc_manager.clear()
    outputs: dict[str, Any] = {}

    async def program() -> None:
        runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")
        exported = pulumi_settings.get_root_resource().outputs
        values = await asyncio.gather(
            *(pulumi.Output.from_input(value).future() for value in exported.values())
        )
        outputs.update(zip(exported, values, strict=True))

    _sync_await(run_pulumi_func(program))
    return ProgramRun(stack=stack, resources=monitor.declared, outputs=outputs)
