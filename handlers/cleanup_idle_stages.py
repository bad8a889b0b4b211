"""Deletes this project's real-time stages that nobody has used for a while.

A stage is deleted only when it carries this stack's project tag, has no active session, and
its `creationDate` tag (milliseconds since the epoch) is older than the threshold. The owner's
channels row then forgets the stage, if it still points at it.
"""

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from handlers._pace import Pace

PROJECT_TAG_KEY = "project"
CREATED_TAG_KEY = "creationDate"
OWNER_TAG_KEY = "stageOwnerChannelId"
PAGE_SIZE = 100
DELETIONS_PER_SECOND = 5

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)


@dataclass
class Summary:
    """What a run found and did."""

    listed: int = 0
    idle: int = 0
    deleted: int = 0
    untagged: int = 0
    failed: list[str] = field(default_factory=list)

    def as_log(self) -> dict:
        """The summary as the fields of one log line."""
        return {
            "listed": self.listed,
            "idle": self.idle,
            "deleted": self.deleted,
            "untagged": self.untagged,
            "failed": len(self.failed),
        }


def all_stages(ivs) -> Iterator[dict]:
    """Every stage of the account and region, following nextToken."""
    token = None
    while True:
        response = ivs.list_stages(maxResults=PAGE_SIZE, **({"nextToken": token} if token else {}))
        yield from response["stages"]
        token = response.get("nextToken")
        if not token:
            return


def is_idle(stage: dict, project_tag: str, created_before: datetime) -> bool | None:
    """True to delete, False to keep; None when the stage lacks the tags to decide."""
    tags = stage.get("tags") or {}
    if PROJECT_TAG_KEY not in tags or CREATED_TAG_KEY not in tags:
        return None
    if tags[PROJECT_TAG_KEY] != project_tag or stage.get("activeSessionId"):
        return False
    try:
        created = datetime.fromtimestamp(int(tags[CREATED_TAG_KEY]) / 1000, UTC)
    except (ValueError, OverflowError):
        return None
    return created < created_before


def forget_stage(dynamodb, channels_table: str, channel_arn: str, stage_id: str) -> int:
    """Clear the stage from the owner's channels row if it still points at it; rows changed."""
    owners = dynamodb.query(
        TableName=channels_table,
        IndexName="channelArnIndex",
        KeyConditionExpression="channelArn = :arn",
        ExpressionAttributeValues={":arn": {"S": channel_arn}},
        ProjectionExpression="id",
    )["Items"]
    changed = 0
    for owner in owners:
        try:
            dynamodb.update_item(
                TableName=channels_table,
                Key={"id": owner["id"]},
                UpdateExpression="REMOVE stageId, stageCreationDate",
                ConditionExpression="stageId = :stage",
                ExpressionAttributeValues={":stage": {"S": stage_id}},
            )
            changed += 1
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
    return changed


def delete_stage(ivs, arn: str) -> None:
    """Delete a stage; one already gone counts as deleted."""
    try:
        ivs.delete_stage(arn=arn)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise


def cleanup(
    ivs,
    dynamodb,
    channels_table: str,
    project_tag: str,
    max_idle: timedelta,
    now: datetime,
    region: str,
    account_id: str,
    pace: Pace | None = None,
) -> Summary:
    """Delete every idle stage of this project; one failure stops no other."""
    pace = pace or Pace(DELETIONS_PER_SECOND)
    summary = Summary()
    # Listed whole before anything is deleted, so deletions cannot shift the pages.
    for stage in list(all_stages(ivs)):
        summary.listed += 1
        verdict = is_idle(stage, project_tag, now - max_idle)
        if verdict is None:
            summary.untagged += 1
            logger.info(
                "stage without project or creationDate tag kept", extra={"stage": stage["arn"]}
            )
            continue
        if not verdict:
            continue

        summary.idle += 1
        stage_id = stage["arn"].rsplit("/", 1)[-1]
        owner = (stage.get("tags") or {}).get(OWNER_TAG_KEY)
        try:
            pace.wait()
            delete_stage(ivs, stage["arn"])
            if owner:
                channel_arn = f"arn:aws:ivs:{region}:{account_id}:channel/{owner}"
                forget_stage(dynamodb, channels_table, channel_arn, stage_id)
        except ClientError as error:
            logger.warning(
                "could not delete idle stage %s",
                stage["arn"],
                extra={"stage": stage["arn"], "error": str(error)},
            )
            summary.failed.append(stage["arn"])
            continue
        summary.deleted += 1
    return summary


def handler(event: dict, context: object) -> dict:
    """The scheduled Lambda entry point; fails when any idle stage could not be deleted."""
    config = Config(retries={"mode": "standard", "max_attempts": 8})
    summary = cleanup(
        boto3.client("ivs-realtime", config=config),
        boto3.client("dynamodb", config=config),
        os.environ["CHANNELS_TABLE_NAME"],
        os.environ["PROJECT_TAG"],
        timedelta(minutes=float(os.environ["STAGE_MAX_IDLE_MINUTES"])),
        datetime.now(UTC),
        os.environ["REGION"],
        os.environ["ACCOUNT_ID"],
    )
    logger.info("idle stages cleaned up", extra=summary.as_log())
    if summary.failed:
        raise RuntimeError(
            f"{len(summary.failed)} of {summary.idle} idle stages could not be deleted; "
            "the next run tries them again"
        )
    return summary.as_log()
