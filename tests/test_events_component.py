"""The stream events component as declared under mocks, its rule in moto's EventBridge, its code."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from emulator.program import run_program
from settings import ConfigError
from tests.conftest import FIXTURE_SESSION, FOREIGN_EVENTS, LAMBDA_PROVIDED, load_event

# The distributions the Lambda Python runtime ships as boto3.
BOTO3_DISTRIBUTION = ("boto3", "botocore", "jmespath", "dateutil", "urllib3", "s3transfer", "six")


def _json_input(program, name: str, key: str):
    return json.loads(program.named(name).inputs[key])


def _grants(program) -> set[tuple[str, str]]:
    policy = _json_input(program, "stream-events-handler-policy", "policy")
    return {
        (action, resource)
        for statement in policy["Statement"]
        for action in statement["Action"]
        for resource in statement["Resource"]
    }


def test_rule_takes_only_ivs_stream_state_health_and_limit_events_from_the_default_bus(
    dev_program,
):
    rule = dev_program.named("stream-events-rule")

    assert rule.inputs["eventBusName"] == "default"
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["aws.ivs"],
        "detail-type": ["IVS Stream State Change", "IVS Stream Health Change", "IVS Limit Breach"],
    }


def test_rule_pattern_in_eventbridge_matches_the_session_and_rejects_foreign_events(
    moto_server, dev_program, aws_env
):
    moto_server.reset()
    events = boto3.client("events", region_name="us-west-2", endpoint_url=moto_server.endpoint_url)
    sqs = boto3.client("sqs", region_name="us-west-2", endpoint_url=moto_server.endpoint_url)
    queue_url = sqs.create_queue(QueueName="caught")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    events.put_rule(
        Name="stream-events",
        EventPattern=dev_program.named("stream-events-rule").inputs["eventPattern"],
    )
    events.put_targets(
        Rule="stream-events", Targets=[{"Id": "q", "Arn": queue_arn["Attributes"]["QueueArn"]}]
    )

    for name in FIXTURE_SESSION + FOREIGN_EVENTS:
        event = load_event(name)
        entry = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]),
            "Resources": event["resources"],
        }
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0

    caught = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        caught += [json.loads(message["Body"]) for message in batch]
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    expected = sorted(
        json.dumps(load_event(name)["detail"], sort_keys=True) for name in FIXTURE_SESSION
    )
    assert sorted(json.dumps(event["detail"], sort_keys=True) for event in caught) == expected


def test_target_retries_delivery_then_dead_letters_and_only_this_rule_may_invoke(dev_program):
    target = dev_program.named("stream-events-target").inputs
    permission = dev_program.named("stream-events-invoke").inputs
    function = dev_program.named("stream-events-handler-function").state
    rule = dev_program.named("stream-events-rule").state
    queue = dev_program.named("stream-events-dlq").state

    assert target["arn"] == function["arn"] and target["rule"] == rule["name"]
    assert target["retryPolicy"]["maximumRetryAttempts"] > 0
    assert target["retryPolicy"]["maximumEventAgeInSeconds"] > 0
    assert target["deadLetterConfig"] == {"arn": queue["arn"]}
    assert permission == {
        "action": "lambda:InvokeFunction",
        "function": function["name"],
        "principal": "events.amazonaws.com",
        "sourceArn": rule["arn"],
    }


def test_handler_failures_are_retried_then_sent_to_the_dead_letter_queue(dev_program):
    config = dev_program.named("stream-events-retries").inputs
    queue = dev_program.named("stream-events-dlq").state

    assert (
        config["functionName"] == dev_program.named("stream-events-handler-function").state["name"]
    )
    assert config["maximumRetryAttempts"] == 2
    assert config["destinationConfig"] == {"onFailure": {"destination": queue["arn"]}}
    assert ("sqs:SendMessage", queue["arn"]) in _grants(dev_program)


def test_dead_letter_queue_takes_undelivered_events_from_this_rule_only(dev_program):
    policy = _json_input(dev_program, "stream-events-dlq-policy", "policy")
    rule = dev_program.named("stream-events-rule").state

    [statement] = policy["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": rule["arn"]}}


def test_function_runs_a_current_python_from_the_handlers_package_with_the_table_names(
    dev_program,
):
    function = dev_program.named("stream-events-handler-function").inputs

    assert function["runtime"] == "python3.14"
    assert function["handler"] == "handlers.stream_events.handler"
    assert function["environment"] == {
        "variables": {
            "CHANNELS_TABLE_NAME": dev_program.outputs["channelsTableName"],
            "STREAM_TABLE_NAME": dev_program.outputs["streamsTableName"],
        }
    }


@pytest.mark.parametrize(("stack", "days"), [("dev", 14), ("prod", 90)])
def test_function_logs_to_its_own_group_kept_as_long_as_the_stack_says(stack, days):
    program = run_program(stack)
    logs = program.named("stream-events-handler-logs")
    function = program.named("stream-events-handler-function").inputs

    assert logs.inputs["retentionInDays"] == days
    assert function["loggingConfig"]["logGroup"] == logs.state["name"]
    assert function["loggingConfig"]["logFormat"] == "JSON"
    assert (
        "logs:PutLogEvents",
        f"{logs.state['arn']}:*",
    ) in _grants(program)


def test_a_retention_cloudwatch_does_not_offer_stops_the_program_naming_the_key():
    with pytest.raises(ConfigError, match=r"ugc:logRetentionDays must be one of 1, 3, 5"):
        run_program("dev", overrides={"ugc:logRetentionDays": "10"})


def test_policy_grants_exactly_the_table_calls_the_handler_makes(stack, dev_program):
    """Replays the fixture session and a second session, recording each DynamoDB call."""
    from handlers.stream_events import StreamStore, process

    calls: set[tuple[str, str]] = set()
    arns = {
        dev_program.named(name).state["name"]: dev_program.named(name).state["arn"]
        for name in ("data-channels", "data-streams")
    }

    def record(params, model, **_):
        requests = [(model.name, params)]
        if model.name == "TransactWriteItems":
            requests = [
                (kind + "Item", body)
                for item in params["TransactItems"]
                for kind, body in item.items()
            ]
        for operation, body in requests:
            resource = arns[body["TableName"]]
            if body.get("IndexName"):
                resource += f"/index/{body['IndexName']}"
            calls.add((f"dynamodb:{operation}", resource))

    stack.client.put_item(
        TableName=stack.channels_table,
        Item={
            "id": {"S": "owner"},
            "channelArn": {"S": load_event(FIXTURE_SESSION[0])["resources"][0]},
        },
    )
    stack.client.meta.events.register("before-parameter-build.dynamodb", record)
    store = StreamStore(stack.client, stack.channels_table, stack.streams_table)
    for name in FIXTURE_SESSION:
        process(store, load_event(name))
    later = load_event(FIXTURE_SESSION[0])
    later["detail"]["stream_id"] = "st-later"
    later["time"] = "2026-11-20T20:00:00Z"
    process(store, later)

    granted = {grant for grant in _grants(dev_program) if grant[0].startswith("dynamodb:")}
    assert calls == granted


def _unpack_archive(program, into: Path) -> Path:
    archive = program.named("stream-events-handler-function").inputs["code"]
    for name, asset in archive.assets.items():
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(asset.path, target)
    return into


def test_archive_holds_only_the_handlers_package(dev_program, tmp_path):
    archive = dev_program.named("stream-events-handler-function").inputs["code"]

    assert sorted(archive.assets) == sorted(
        f"handlers/{p.name}" for p in (Path(__file__).parent.parent / "handlers").glob("*.py")
    )


_IMPORT_CHECK = """
import importlib.abc, sys
allowed = set(sys.stdlib_module_names) | {allowed!r} | {{"handlers"}}

class OnlyStdlibAndBoto3(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] not in allowed:
            raise ModuleNotFoundError(f"{{name}} is not in the Lambda runtime")
        return None

sys.meta_path.insert(0, OnlyStdlibAndBoto3())
sys.path.insert(0, {root!r})
import handlers.stream_events as module
assert module.__file__.startswith({root!r}), module.__file__
assert callable(module.handler)
print("imported")
"""


def test_archive_imports_in_a_fresh_interpreter_with_only_the_standard_library_and_boto3(
    dev_program, tmp_path
):
    root = str(_unpack_archive(dev_program, tmp_path))
    script = _IMPORT_CHECK.format(allowed=set(BOTO3_DISTRIBUTION), root=root)

    result = subprocess.run(
        [sys.executable, "-I", "-c", script], capture_output=True, text=True, cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported"


_INVOKE = """
import json, sys
sys.path.insert(0, {root!r})
import handlers.stream_events as module
print(json.dumps(module.handler(json.loads(sys.stdin.read()), None)))
"""


def test_handler_runs_with_exactly_the_environment_the_component_declares(
    stack, dev_program, tmp_path
):
    root = str(_unpack_archive(dev_program, tmp_path))
    declared = dev_program.named("stream-events-handler-function").inputs["environment"][
        "variables"
    ]
    event = load_event(FIXTURE_SESSION[0])
    stack.client.put_item(
        TableName=stack.channels_table,
        Item={"id": {"S": "owner"}, "channelArn": {"S": event["resources"][0]}},
    )
    # AWS_ENDPOINT_URL stands in for AWS itself; the handler's code never reads it.
    environment = {**declared, **LAMBDA_PROVIDED, "AWS_ENDPOINT_URL": stack.endpoint_url}

    result = subprocess.run(
        [sys.executable, "-I", "-c", _INVOKE.format(root=root)],
        input=json.dumps(event),
        env=environment,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["outcome"] == "applied"
    [row] = [r for r in stack.rows(stack.streams_table) if r["id"] == event["detail"]["stream_id"]]
    assert row["isOpen"] == "true" and row["userSub"] == "owner"
