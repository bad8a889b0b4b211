"""Idle stages of this project are deleted: IVS real-time through Stubber, DynamoDB in moto."""

import itertools
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.stub import Stubber

from handlers._pace import Pace
from handlers.cleanup_idle_stages import cleanup, is_idle

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(minutes=60)
ACCOUNT = "123456789012"
PROJECT = "ugc-dev"


def _millis(age: timedelta) -> str:
    return str(int((NOW - age).timestamp() * 1000))


def stage(stage_id: str, age: timedelta | None = None, project=PROJECT, owner=None, active=None):
    """A ListStages summary; `age` None leaves out the creationDate tag, `project` None the tag."""
    tags = {}
    if project is not None:
        tags["project"] = project
    if age is not None:
        tags["creationDate"] = _millis(age)
    if owner:
        tags["stageOwnerChannelId"] = owner
    summary = {
        "arn": f"arn:aws:ivs:us-west-2:{ACCOUNT}:stage/{stage_id}",
        "name": stage_id,
        "tags": tags,
    }
    if active is not None:
        summary["activeSessionId"] = active
    return summary


class Stages:
    """A stubbed IVS real-time client, and the channels table in moto."""

    def __init__(self, stack):
        self.stack = stack
        self.ivs = boto3.client(
            "ivs-realtime",
            region_name="us-west-2",
            config=Config(retries={"mode": "standard", "max_attempts": 3}),
        )
        self.stubber = Stubber(self.ivs)

    def pages(self, *pages: list[dict]) -> None:
        for number, stages in enumerate(pages):
            response = {"stages": stages}
            expected = {"maxResults": 100}
            if number + 1 < len(pages):
                response["nextToken"] = f"page{number + 1}"
            if number:
                expected["nextToken"] = f"page{number}"
            self.stubber.add_response("list_stages", response, expected)

    def deleted(self, summary: dict) -> None:
        self.stubber.add_response("delete_stage", {}, {"arn": summary["arn"]})

    def owner(self, owner_id: str, channel_id: str, stage_id: str | None) -> None:
        item = {
            "id": {"S": owner_id},
            "channelArn": {"S": f"arn:aws:ivs:us-west-2:{ACCOUNT}:channel/{channel_id}"},
        }
        if stage_id:
            item["stageId"] = {"S": stage_id}
            item["stageCreationDate"] = {"S": _millis(timedelta(hours=3))}
        self.stack.client.put_item(TableName=self.stack.channels_table, Item=item)

    def row(self, owner_id: str) -> dict:
        return {r["id"]: r for r in self.stack.rows(self.stack.channels_table)}[owner_id]

    def run(self, pace: Pace | None = None):
        with self.stubber:
            summary = cleanup(
                self.ivs,
                self.stack.client,
                self.stack.channels_table,
                PROJECT,
                HOUR,
                NOW,
                "us-west-2",
                ACCOUNT,
                pace or Pace(1000),
            )
            self.stubber.assert_no_pending_responses()
        return summary


@pytest.fixture
def stages(stack) -> Stages:
    return Stages(stack)


def test_idle_stages_of_this_project_are_deleted_from_every_page(stages):
    idle = [stage(f"idle{n}", timedelta(hours=2)) for n in range(3)]
    stages.pages(
        [idle[0], stage("busy", timedelta(hours=5), active="st-ABCDEFGHIJKLM")],
        [idle[1], stage("other", timedelta(days=3), project="someone-else")],
        [idle[2], stage("young", timedelta(minutes=59))],
    )
    for summary in idle:
        stages.deleted(summary)

    result = stages.run()

    assert (result.listed, result.idle, result.deleted, result.failed) == (6, 3, 3, [])


def test_stages_without_the_tags_are_kept_and_counted(stages, caplog):
    untagged = stage("untagged")
    stages.pages(
        [
            untagged,
            stage("no-date", project=PROJECT),
            stage("no-project", timedelta(days=2), project=None),
        ]
    )

    with caplog.at_level("INFO", logger="handlers.cleanup_idle_stages"):
        result = stages.run()

    assert (result.untagged, result.deleted) == (3, 0)
    assert {record.stage for record in caplog.records} == {
        untagged["arn"],
        stage("no-date")["arn"],
        stage("no-project")["arn"],
    }


@pytest.mark.parametrize(
    ("active", "idle"), [(None, True), ("", True), ("st-ABCDEFGHIJKLM", False)]
)
def test_only_a_stage_without_an_active_session_is_idle(active, idle):
    summary = stage("s", timedelta(hours=2), active=active)

    assert is_idle(summary, PROJECT, NOW - HOUR) is idle


def test_a_stage_already_gone_counts_as_deleted_and_its_owner_is_cleared(stages):
    gone = stage("gone", timedelta(hours=2), owner="chanA")
    stages.owner("ownerA", "chanA", "gone")
    stages.pages([gone])
    stages.stubber.add_client_error(
        "delete_stage", "ResourceNotFoundException", http_status_code=404
    )

    result = stages.run()

    assert (result.deleted, result.failed) == (1, [])
    assert "stageId" not in stages.row("ownerA")
    assert "stageCreationDate" not in stages.row("ownerA")


def test_the_owner_row_is_cleared_only_while_it_points_at_the_deleted_stage(stages):
    old = stage("old", timedelta(hours=2), owner="chanB")
    stages.owner("ownerB", "chanB", "newer-stage")
    stages.pages([old])
    stages.deleted(old)

    stages.run()

    row = stages.row("ownerB")
    assert row["stageId"] == "newer-stage" and "stageCreationDate" in row


class _Raw:
    """The body of a fake HTTP response, as botocore reads it."""

    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_):
        yield self._body


def test_throttled_deletions_are_retried_by_botocores_retry_mode(stack):
    """Answers at the HTTP layer, under botocore's retry loop, which Stubber would bypass."""
    idle = stage("throttled", timedelta(hours=2))
    answers = [
        (200, {"stages": [idle]}),
        (429, {"__type": "ThrottlingException", "message": "slow down"}),
        (429, {"__type": "ThrottlingException", "message": "slow down"}),
        (200, {}),
    ]
    sent = []

    def answer(request, **_):
        sent.append(request.url)
        status, body = answers.pop(0)
        return AWSResponse(request.url, status, {}, _Raw(json.dumps(body).encode()))

    ivs = boto3.client(
        "ivs-realtime",
        region_name="us-west-2",
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )
    ivs.meta.events.register("before-send.ivs-realtime", answer)

    result = cleanup(
        ivs,
        stack.client,
        stack.channels_table,
        PROJECT,
        HOUR,
        NOW,
        "us-west-2",
        ACCOUNT,
        Pace(1000),
    )

    assert (result.deleted, result.failed) == (1, [])
    assert len(sent) == 4 and answers == []


def test_throttling_that_outlasts_the_retries_fails_only_that_stage(stages):
    throttled, fine = stage("throttled", timedelta(hours=2)), stage("fine", timedelta(hours=2))
    stages.pages([throttled, fine])
    stages.stubber.add_client_error("delete_stage", "ThrottlingException", http_status_code=429)
    stages.deleted(fine)

    result = stages.run()

    assert result.failed == [throttled["arn"]] and result.deleted == 1


def test_one_failure_stops_no_other_and_is_reported(stages):
    broken, fine = stage("broken", timedelta(hours=2)), stage("fine", timedelta(hours=2))
    stages.pages([broken, fine])
    stages.stubber.add_client_error("delete_stage", "ConflictException", http_status_code=409)
    stages.deleted(fine)

    result = stages.run()

    assert result.failed == [broken["arn"]]
    assert result.deleted == 1


def test_deletions_go_no_faster_than_five_a_second(stages):
    idle = [stage(f"s{n}", timedelta(hours=2)) for n in range(6)]
    stages.pages(idle)
    for summary in idle:
        stages.deleted(summary)
    clock = [0.0]
    pace = Pace(5, clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    times = []
    stages.ivs.meta.events.register(
        "before-parameter-build.ivs-realtime.DeleteStage", lambda **_: times.append(clock[0])
    )

    stages.run(pace)

    assert len(times) == 6
    assert all(b - a >= 0.2 - 1e-9 for a, b in itertools.pairwise(times))
