"""`python -m emulator`, the README's local run: tables from the program, seeded, summarised."""

from tests.conftest import run_module


def test_local_run_seeds_tables_made_from_the_program_and_prints_what_they_hold(aws_env):
    result = run_module("emulator", COLUMNS="160")

    assert result.returncode == 0, result.stderr
    assert "Created table data-channels-0000000 from the program's declaration" in result.stdout
    assert "Created table data-streams-0000000 from the program's declaration" in result.stdout
    assert "Wrote 50 channel row(s)" in result.stdout
    assert "50 stream sessions (47 live, 3 offline)" in result.stdout
    assert "Local AWS stopped" in result.stdout


def test_local_run_for_a_stack_without_a_config_file_exits_2_naming_the_choices(aws_env):
    result = run_module("emulator", "--stack", "nosuch")

    assert result.returncode == 2
    assert "There is no Pulumi.nosuch.yaml" in result.stderr
    assert "dev, prod" in result.stderr
    assert "Traceback" not in result.stderr


def test_local_run_checks_its_own_arguments_before_starting_anything(aws_env):
    result = run_module("emulator", "--count", "abc")

    assert result.returncode == 2
    assert "argument --count: 'abc' is not a whole number" in result.stderr
    assert "Local AWS" not in result.stdout


def test_local_run_ignores_the_users_own_aws_settings(aws_env):
    result = run_module("emulator", "--count", "3", AWS_MAX_ATTEMPTS="abc", AWS_PROFILE="nope")

    assert result.returncode == 0, result.stderr
    assert "Wrote 3 channel row(s)" in result.stdout
