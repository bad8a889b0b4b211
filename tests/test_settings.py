"""Every stack setting refuses what AWS would refuse, in one sentence naming the key."""

import json

import pytest

from emulator.program import run_program
from settings import ConfigError

SECRET = "arn:aws:secretsmanager:us-west-2:123456789012:secret:ugc/x-AbCdEf"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("aws:region", "not-a-region", "aws:region is not an AWS region"),
        ("aws:region", "US-WEST-2", "aws:region is not an AWS region"),
        ("ugc:protect", "yes", "ugc:protect must be true or false"),
        ("ugc:logRetentionDays", "0", "ugc:logRetentionDays must be one of"),
        ("ugc:minTasks", "٣", "ugc:minTasks must be a whole number"),
        ("ugc:minTasks", "1_0", "ugc:minTasks must be a whole number"),
        ("ugc:maxTasks", "9" * 5000, "ugc:maxTasks must be a whole number"),
        ("ugc:unconfirmedUsersMaxAgeHours", "8761", "from 1 to 8760"),
        ("ugc:idleStagesMaxAgeMinutes", "10081", "from 1 to 10080"),
        ("ugc:idleStagesSchedule", "cron(99 99 * * ? *)", "is not an EventBridge schedule"),
        ("ugc:idleStagesSchedule", "cron(a b c d ? f)", "is not an EventBridge schedule"),
        ("ugc:idleStagesSchedule", "cron(0 3 ? * ? *)", "is not an EventBridge schedule"),
        ("ugc:idleStagesSchedule", "rate(٣ hours)", "is not an EventBridge schedule"),
        ("ugc:idleStagesSchedule", "rate(99999999999 days)", "is not an EventBridge schedule"),
        ("ugc:projectTag", "x*&^%$#!", "ugc:projectTag is not a tag value"),
        ("ugc:projectTag", "p" * 257, "ugc:projectTag is not a tag value"),
        ("ugc:apiImage", "Foo/Bar:latest", "ugc:apiImage is not an image reference"),
        ("ugc:apiImage", "repo:.bad", "ugc:apiImage is not an image reference"),
        ("ugc:apiImage", "-", "ugc:apiImage is not an image reference"),
        ("ugc:apiBuildContext", "x" * 5000, "which is not a folder with a Dockerfile"),
        ("ugc:allowedOrigins", "[" * 100_000, "ugc:allowedOrigins must be a list of origins"),
        ("ugc:allowedOrigins", json.dumps(["not a url"]), "must be a list of origins"),
        ("ugc:apiEnvironment", json.dumps({"HAS SPACE": "x"}), "must map variable names"),
        ("ugc:apiEnvironment", json.dumps({"": "x"}), "must map variable names"),
        ("ugc:apiSecrets", json.dumps({"A=B": SECRET}), "must map variable names"),
        (
            "ugc:certificateArn",
            "arn:aws:acm:us-east-1:123456789012:certificate/abc",
            "is a certificate of another region than the stack's us-west-2",
        ),
    ],
)
def test_values_aws_would_refuse_stop_the_program_naming_the_key(key, value, message):
    overrides = {key: value}
    if key == "ugc:apiBuildContext":
        overrides["ugc:apiImage"] = None

    with pytest.raises(ConfigError, match=message):
        run_program("dev", overrides=overrides)


def test_list_and_map_errors_show_a_command_a_shell_can_run():
    with pytest.raises(ConfigError) as raised:
        run_program("dev", overrides={"ugc:allowedOrigins": '"x"'})

    assert "`pulumi config set --path 'allowedOrigins[0]' https://app.example.com`" in str(
        raised.value
    )


def test_numbers_and_booleans_set_with_path_become_their_text():
    program = run_program(
        "dev", overrides={"ugc:apiEnvironment": json.dumps({"MAX_CONNECTIONS": 10, "DEBUG": True})}
    )
    container = program.named("api-service").inputs["taskDefinitionArgs"]["container"]
    environment = {pair["name"]: pair["value"] for pair in container["environment"]}

    assert (environment["MAX_CONNECTIONS"], environment["DEBUG"]) == ("10", "true")


def test_a_name_in_both_environment_and_secrets_is_refused():
    overrides = {
        "ugc:apiEnvironment": json.dumps({"SHARED": "x"}),
        "ugc:apiSecrets": json.dumps({"SHARED": SECRET}),
    }

    with pytest.raises(ConfigError, match="both set SHARED"):
        run_program("dev", overrides=overrides)


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/example/ugc-api:1.4.2",
        "123456789012.dkr.ecr.us-west-2.amazonaws.com/ugc-api:2026-12-01",
        "localhost:5000/team/ugc_api",
        f"a/b:1.0@sha256:{'ab' * 32}",
        "nginx",
    ],
)
def test_ordinary_image_references_are_accepted(image):
    program = run_program("dev", overrides={"ugc:apiImage": image})

    assert program.named("api-service").inputs["taskDefinitionArgs"]["container"]["image"] == image


def test_a_misspelled_setting_is_refused_naming_the_one_meant():
    with pytest.raises(
        ConfigError, match=r"ugc:mintasks is not one this program reads \(ugc:minTasks is\)"
    ):
        run_program("dev", overrides={"ugc:mintasks": "5"})


@pytest.mark.parametrize(
    "schedule",
    [
        "cron(0 3 ? FOO BAR *)",
        "cron(- - ? * * *)",
        "cron(99/5 * * * ? *)",
        "cron(*/0 * * * ? *)",
        "cron(0 3 ? * 1#6 *)",
        "cron(0 3 ?W * ? *)",
        "cron(0 3 ? * * 3000/1)",
    ],
)
def test_cron_expressions_eventbridge_would_refuse_are_refused(schedule):
    with pytest.raises(ConfigError, match="is not an EventBridge schedule expression"):
        run_program("dev", overrides={"ugc:idleStagesSchedule": schedule})


@pytest.mark.parametrize(
    "schedule",
    [
        "cron(0/15 * * * ? *)",
        "cron(0 18 ? * MON-FRI *)",
        "cron(15 10 ? * 6L 2026-2030)",
        "cron(0 10 ? * 2#1 *)",
        "cron(0 3 LW * ? *)",
        "rate(1 day)",
    ],
)
def test_cron_and_rate_expressions_eventbridge_accepts_are_accepted(schedule):
    program = run_program("dev", overrides={"ugc:idleStagesSchedule": schedule})

    assert program.named("cleanup-idle-stages-schedule").inputs["scheduleExpression"] == schedule


def test_an_ses_identity_cognito_cannot_reach_is_refused():
    source = "arn:aws:ses:ap-south-1:123456789012:identity/example.com"

    with pytest.raises(ConfigError, match="is an SES identity Cognito cannot use from us-west-2"):
        run_program("dev", overrides={"ugc:emailSourceArn": source})


def test_an_image_reference_longer_than_ecs_allows_is_refused():
    image = "123456789012.dkr.ecr.us-west-2.amazonaws.com/" + "a" * 250

    with pytest.raises(ConfigError, match="ugc:apiImage is not an image reference"):
        run_program("dev", overrides={"ugc:apiImage": image})
