"""The seeder finds its tables in the stack's outputs: from the Automation API or a saved file."""

import json

import pytest

from emulator.program import PROJECT_DIR
from seeding import stack_outputs
from seeding.errors import BadInput, SeedingError
from tests.conftest import run_module

OUTPUTS = {
    "region": "eu-west-1",
    "accountId": "210987654321",
    "channelsTableName": "data-channels-1a2b3c4",
    "streamsTableName": "data-streams-5d6e7f8",
}


def test_outputs_are_read_through_the_automation_api_without_selecting_the_stack(standin_pulumi):
    standin_pulumi.set_stacks({"dev": OUTPUTS, "prod": {}})

    found = stack_outputs.from_stack("dev", PROJECT_DIR)

    assert (found.region, found.account_id) == ("eu-west-1", "210987654321")
    assert (found.channels_table, found.streams_table) == (
        "data-channels-1a2b3c4",
        "data-streams-5d6e7f8",
    )
    commands = standin_pulumi.commands()
    assert ["version"] in commands
    assert any(c[:4] == ["stack", "output", "--json", "--stack"] and "dev" in c for c in commands)
    assert not any(c[:2] == ["stack", "select"] for c in commands)


def test_secret_outputs_are_read_in_plain_text(standin_pulumi):
    standin_pulumi.set_stacks({"dev": OUTPUTS, "__secret__": ["accountId"]})

    assert stack_outputs.from_stack("dev", PROJECT_DIR).account_id == "210987654321"


def test_an_unknown_stack_is_bad_input_that_says_how_to_list_stacks(standin_pulumi):
    standin_pulumi.set_stacks({"dev": OUTPUTS})

    with pytest.raises(BadInput, match=r"Stack 'qa' does not exist.*pulumi stack ls"):
        stack_outputs.from_stack("qa", PROJECT_DIR)


def test_a_stack_without_outputs_says_to_deploy_it_first(standin_pulumi):
    standin_pulumi.set_stacks({"dev": {}})

    with pytest.raises(BadInput, match=r"Stack 'dev' has no outputs; deploy it with `pulumi up"):
        stack_outputs.from_stack("dev", PROJECT_DIR)


@pytest.mark.parametrize("missing", sorted(OUTPUTS))
def test_a_missing_output_is_named(standin_pulumi, missing):
    standin_pulumi.set_stacks({"dev": {k: v for k, v in OUTPUTS.items() if k != missing}})

    with pytest.raises(BadInput, match=rf"has no {missing} output"):
        stack_outputs.from_stack("dev", PROJECT_DIR)


def test_a_failing_pulumi_command_is_reported_with_its_own_error(standin_pulumi):
    standin_pulumi.set_stacks({})

    with pytest.raises(SeedingError, match=r"failed \(passphrase must be set"):
        stack_outputs.from_stack("broken", PROJECT_DIR)


def test_output_that_is_not_json_is_reported_without_a_traceback(standin_pulumi):
    with pytest.raises(SeedingError, match=r"printed something that is not JSON"):
        stack_outputs.from_stack("garbled", PROJECT_DIR)


def test_without_the_pulumi_cli_the_error_points_to_outputs_file(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(SeedingError, match=r"pulumi CLI is not on PATH.*--outputs-file"):
        stack_outputs.from_stack("dev", PROJECT_DIR)


def test_a_saved_outputs_file_is_read(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(OUTPUTS))

    assert stack_outputs.from_file(path).streams_table == "data-streams-5d6e7f8"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        ("{not json", "is not the JSON that `pulumi stack output --json` prints"),
        ("[]", "must hold a JSON object"),
        ("{}", "has no outputs"),
        (json.dumps({**OUTPUTS, "region": ""}), "has no region output"),
    ],
)
def test_a_bad_outputs_file_is_named(tmp_path, content, expected):
    path = tmp_path / "outputs.json"
    if content is not None:
        path.write_text(content)

    with pytest.raises(BadInput, match=expected):
        stack_outputs.from_file(path)


def test_seeding_a_stack_by_name_runs_end_to_end_through_the_automation_api(stack, standin_pulumi):
    standin_pulumi.set_stacks({"dev": stack.outputs})

    result = run_module(
        "seeding", "--stack", "dev", "--count", "3", "--endpoint-url", stack.endpoint_url
    )

    assert result.returncode == 0, result.stderr
    assert len(stack.rows(stack.streams_table)) == 3
    assert not any(c[:2] == ["stack", "select"] for c in standin_pulumi.commands())


def test_an_unknown_stack_exits_2_with_one_sentence_and_no_traceback(stack, standin_pulumi):
    standin_pulumi.set_stacks({"dev": stack.outputs})

    result = run_module("seeding", "--stack", "qa", "--endpoint-url", stack.endpoint_url)

    assert result.returncode == 2
    assert "Stack 'qa' does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    assert stack.rows(stack.channels_table) == []
