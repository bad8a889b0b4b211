"""The cleanup component under mocks, and its handlers run with exactly the declared environment."""

import json
import os
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from emulator.program import run_program
from handlers import cleanup_idle_stages, cleanup_unconfirmed_users
from settings import ConfigError
from tests.conftest import LAMBDA_PROVIDED

JOBS = ("unconfirmed-users", "idle-stages")


def _environment(program, job: str) -> dict:
    return program.named(f"cleanup-{job}-function").inputs["environment"]["variables"]


def _grants(program, job: str) -> list[dict]:
    return json.loads(program.named(f"cleanup-{job}-policy").inputs["policy"])["Statement"]


def test_default_schedules_and_thresholds_are_two_days_and_a_day_and_a_day_and_an_hour():
    program = run_program("alice", overrides={"aws:region": "eu-west-1"})

    assert program.named("cleanup-unconfirmed-users-schedule").inputs["scheduleExpression"] == (
        "rate(48 hours)"
    )
    assert program.named("cleanup-idle-stages-schedule").inputs["scheduleExpression"] == (
        "rate(24 hours)"
    )
    assert _environment(program, "unconfirmed-users")["UNCONFIRMED_MAX_AGE_HOURS"] == "24"
    assert _environment(program, "idle-stages")["STAGE_MAX_IDLE_MINUTES"] == "60"
    assert _environment(program, "idle-stages")["PROJECT_TAG"] == "ugc-alice"


def test_schedules_thresholds_and_project_tag_come_from_the_stack_configuration():
    program = run_program(
        "dev",
        overrides={
            "ugc:unconfirmedUsersSchedule": "cron(0 3 * * ? *)",
            "ugc:unconfirmedUsersMaxAgeHours": "72",
            "ugc:idleStagesSchedule": "rate(15 minutes)",
            "ugc:idleStagesMaxAgeMinutes": "90",
            "ugc:projectTag": "streaming-qa",
        },
    )

    assert program.named("cleanup-unconfirmed-users-schedule").inputs["scheduleExpression"] == (
        "cron(0 3 * * ? *)"
    )
    assert program.named("cleanup-idle-stages-schedule").inputs["scheduleExpression"] == (
        "rate(15 minutes)"
    )
    assert _environment(program, "unconfirmed-users")["UNCONFIRMED_MAX_AGE_HOURS"] == "72"
    assert _environment(program, "idle-stages")["STAGE_MAX_IDLE_MINUTES"] == "90"
    assert _environment(program, "idle-stages")["PROJECT_TAG"] == "streaming-qa"
    assert program.outputs["projectTag"] == "streaming-qa"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("unconfirmedUsersSchedule", "every 2 days"),
        ("unconfirmedUsersSchedule", "rate(1 hours)"),
        ("idleStagesSchedule", "rate(0 minutes)"),
        ("idleStagesSchedule", "cron(0 3 * * *)"),
        ("idleStagesSchedule", "cron(0 3 * * 1 *)"),
    ],
)
def test_an_invalid_schedule_stops_the_program_naming_the_setting(key, value):
    with pytest.raises(ConfigError, match=rf"ugc:{key} is not an EventBridge schedule expression"):
        run_program("dev", overrides={f"ugc:{key}": value})


@pytest.mark.parametrize(
    ("key", "value"),
    [("unconfirmedUsersMaxAgeHours", "0"), ("idleStagesMaxAgeMinutes", "an hour")],
)
def test_an_impossible_threshold_stops_the_program_naming_the_setting(key, value):
    with pytest.raises(ConfigError, match=rf"ugc:{key} must be a whole number"):
        run_program("dev", overrides={f"ugc:{key}": value})


@pytest.mark.parametrize("job", JOBS)
def test_each_schedule_invokes_its_own_function_with_retries_and_a_scoped_permission(
    dev_program, job
):
    rule = dev_program.named(f"cleanup-{job}-schedule")
    target = dev_program.named(f"cleanup-{job}-target").inputs
    permission = dev_program.named(f"cleanup-{job}-invoke").inputs
    function = dev_program.named(f"cleanup-{job}-function")

    assert target["rule"] == rule.state["name"] and target["arn"] == function.state["arn"]
    assert target["retryPolicy"]["maximumRetryAttempts"] > 0
    assert permission["sourceArn"] == rule.state["arn"]
    assert permission["function"] == function.state["name"]
    assert permission["principal"] == "events.amazonaws.com"


@pytest.mark.parametrize("job", JOBS)
def test_a_failed_run_waits_for_the_next_schedule_instead_of_running_again(dev_program, job):
    config = dev_program.named(f"cleanup-{job}-no-retries").inputs

    assert config["functionName"] == dev_program.named(f"cleanup-{job}-function").state["name"]
    assert config["maximumRetryAttempts"] == 0


@pytest.mark.parametrize("job", JOBS)
def test_each_function_has_a_log_group_with_retention_and_a_timeout_for_its_work(dev_program, job):
    function = dev_program.named(f"cleanup-{job}-function").inputs
    logs = dev_program.named(f"cleanup-{job}-logs")

    assert logs.inputs["retentionInDays"] == 14
    assert function["loggingConfig"]["logGroup"] == logs.state["name"]
    assert 300 <= function["timeout"] <= 900


def test_unconfirmed_users_may_only_list_and_delete_users_of_the_pool_and_delete_rows(dev_program):
    pool = dev_program.named("identity-users").state["arn"]
    channels = dev_program.named("data-channels").state["arn"]

    statements = _grants(dev_program, "unconfirmed-users")

    granted = {(a, r) for s in statements for a in s["Action"] for r in s["Resource"]}
    assert {g for g in granted if not g[0].startswith("logs:")} == {
        ("cognito-idp:ListUsers", pool),
        ("cognito-idp:AdminDeleteUser", pool),
        ("dynamodb:DeleteItem", channels),
    }


def test_idle_stages_may_delete_only_stages_of_this_account_and_region(dev_program):
    channels = dev_program.named("data-channels").state["arn"]

    statements = _grants(dev_program, "idle-stages")

    granted = {(a, r) for s in statements for a in s["Action"] for r in s["Resource"]}
    assert {g for g in granted if not g[0].startswith("logs:")} == {
        ("ivs:ListStages", "*"),
        ("ivs:DeleteStage", "arn:aws:ivs:us-west-2:123456789012:stage/*"),
        ("dynamodb:Query", f"{channels}/index/channelArnIndex"),
        ("dynamodb:UpdateItem", channels),
    }


def _only(monkeypatch, variables: dict) -> None:
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def test_unconfirmed_users_handler_runs_with_exactly_the_declared_environment(
    stack, dev_program, monkeypatch
):
    cognito = boto3.client("cognito-idp", region_name="us-west-2", endpoint_url=stack.endpoint_url)
    pool_id = cognito.create_user_pool(PoolName="users")["UserPool"]["Id"]
    declared = _environment(dev_program, "unconfirmed-users")
    # The pool id is an output AWS fills in; moto's pool stands in for the declared one.
    emulated = {dev_program.named("identity-users").id: pool_id}
    environment = {name: emulated.get(value, value) for name, value in declared.items()}
    _only(monkeypatch, {**environment, **LAMBDA_PROVIDED, "AWS_ENDPOINT_URL": stack.endpoint_url})

    result = cleanup_unconfirmed_users.handler({}, None)

    assert result == {"found": 0, "deleted": 0, "failed": 0}


def _stubbed_stages(monkeypatch, delete_fails: bool) -> Stubber:
    """The idle stages handler's IVS real-time client, stubbed with one day-old idle stage."""
    arn = "arn:aws:ivs:us-west-2:123456789012:stage/idle"
    created = int((datetime.now(UTC) - timedelta(days=1)).timestamp() * 1000)
    ivs = boto3.client("ivs-realtime", region_name="us-west-2")
    stubber = Stubber(ivs)
    stubber.add_response(
        "list_stages",
        {"stages": [{"arn": arn, "tags": {"project": "ugc-dev", "creationDate": str(created)}}]},
    )
    if delete_fails:
        stubber.add_client_error("delete_stage", "ConflictException", http_status_code=409)
    else:
        stubber.add_response("delete_stage", {}, {"arn": arn})
    real_client = boto3.client
    monkeypatch.setattr(
        cleanup_idle_stages.boto3,
        "client",
        lambda service, **kwargs: (
            ivs if service == "ivs-realtime" else real_client(service, **kwargs)
        ),
    )
    return stubber


def test_idle_stages_handler_runs_with_exactly_the_declared_environment(
    stack, dev_program, monkeypatch
):
    stubber = _stubbed_stages(monkeypatch, delete_fails=False)
    declared = _environment(dev_program, "idle-stages")
    _only(monkeypatch, {**declared, **LAMBDA_PROVIDED, "AWS_ENDPOINT_URL": stack.endpoint_url})

    with stubber:
        result = cleanup_idle_stages.handler({}, None)

    assert result["deleted"] == 1 and result["failed"] == 0


def test_a_run_with_failures_fails_so_the_next_run_retries(stack, dev_program, monkeypatch):
    stubber = _stubbed_stages(monkeypatch, delete_fails=True)
    declared = _environment(dev_program, "idle-stages")
    _only(monkeypatch, {**declared, **LAMBDA_PROVIDED, "AWS_ENDPOINT_URL": stack.endpoint_url})

    with stubber, pytest.raises(RuntimeError, match="1 of 1 idle stages could not be deleted"):
        cleanup_idle_stages.handler({}, None)
