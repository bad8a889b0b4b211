"""The program as a whole: tagging, parenting, settings and outputs, and their documentation."""

import ast
import re

import pytest
import yaml

from emulator.program import PROJECT_DIR, run_program
from settings import ConfigError

README = (PROJECT_DIR / "README.md").read_text()


def _provider_ref(program) -> str:
    provider = program.named("aws")
    return f"{provider.urn}::{provider.id}"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_aws_resource_goes_through_the_provider_that_tags_it(stack):
    program = run_program(stack)
    reference = _provider_ref(program)

    for resource in program.resources:
        if resource.type.startswith("aws:"):
            assert resource.provider == reference, resource.name
        if resource.type.startswith(("awsx:", "ugc:")):
            assert resource.providers.get("aws") == reference, resource.name


def test_every_resource_belongs_to_a_component(dev_program):
    components = {r.urn for r in dev_program.resources if r.type.startswith("ugc:")}

    for resource in dev_program.resources:
        if resource.type.startswith("ugc:") or resource.type == "pulumi:providers:aws":
            continue
        assert resource.parent in components, resource.name


def test_component_type_tokens_name_their_module():
    for module in (PROJECT_DIR / "components").glob("*.py"):
        tokens = re.findall(r'super\(\).__init__\("(ugc:[^"]+)"', module.read_text())
        for token in tokens:
            assert token.split(":")[1] == module.stem, f"{module.name}: {token}"


def test_stack_files_differ_where_production_should():
    dev = yaml.safe_load((PROJECT_DIR / "Pulumi.dev.yaml").read_text())["config"]
    prod = yaml.safe_load((PROJECT_DIR / "Pulumi.prod.yaml").read_text())["config"]

    assert (dev["ugc:protect"], prod["ugc:protect"]) == (False, True)
    assert prod["ugc:natGateways"] > dev["ugc:natGateways"]
    assert prod["ugc:availabilityZones"] > dev["ugc:availabilityZones"]
    assert prod["ugc:logRetentionDays"] > dev["ugc:logRetentionDays"]
    assert prod["ugc:minTasks"] > dev.get("ugc:minTasks", 1)
    assert prod["ugc:idleStagesSchedule"] != dev["ugc:idleStagesSchedule"]


def _keys_read_by_settings() -> set[str]:
    tree = ast.parse((PROJECT_DIR / "settings.py").read_text())
    keys = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in ("ugc", "aws")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            keys.add(f"{node.func.value.id}:{node.args[0].value}")
    return keys


def test_every_setting_the_program_reads_is_in_the_readme_table():
    keys = _keys_read_by_settings()

    assert len(keys) > 20
    missing = sorted(key for key in keys if f"| `{key}` |" not in README)
    assert missing == []


def test_every_stack_output_is_in_the_readme_table(dev_program):
    missing = sorted(name for name in dev_program.outputs if f"| `{name}` |" not in README)

    assert missing == []


def test_a_wrong_type_stops_the_program_before_any_resource_is_declared():
    with pytest.raises(ConfigError, match="ugc:minTasks must be a whole number"):
        run_program("dev", overrides={"ugc:minTasks": "two"})
