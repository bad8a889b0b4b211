"""Removes users who signed up but stayed unconfirmed: first their channels row, then the user.

Deleting the row first means an interruption can leave a user without a row (the next run
removes it) but never a row without a user.
"""

import logging
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from handlers._pace import Pace

UNCONFIRMED = "UNCONFIRMED"
WORKERS = 4
# AdminDeleteUser counts against Cognito's UserUpdate quota (25 requests a second by
# default), which the platform's API shares; this job takes well under half of it.
DELETIONS_PER_SECOND = 10

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)


@dataclass
class Summary:
    """What a run found and did."""

    found: int = 0
    deleted: int = 0
    failed: list[str] = field(default_factory=list)

    def as_log(self) -> dict:
        """The summary as the fields of one log line."""
        return {"found": self.found, "deleted": self.deleted, "failed": len(self.failed)}


def stale_unconfirmed_users(cognito, user_pool_id: str, created_before: datetime) -> Iterator[dict]:
    """Users still unconfirmed that were created before `created_before`, from every page."""
    pages = cognito.get_paginator("list_users").paginate(
        UserPoolId=user_pool_id, Filter=f'cognito:user_status = "{UNCONFIRMED}"'
    )
    for page in pages:
        for user in page["Users"]:
            if user["UserStatus"] == UNCONFIRMED and user["UserCreateDate"] < created_before:
                yield user


def _sub(user: dict) -> str | None:
    for attribute in user.get("Attributes", []):
        if attribute["Name"] == "sub":
            return attribute["Value"]
    return None


def remove_user(cognito, dynamodb, user_pool_id: str, channels_table: str, user: dict) -> None:
    """Delete the user's channels row, then the user; what is already gone counts as done."""
    sub = _sub(user)
    if sub:
        dynamodb.delete_item(TableName=channels_table, Key={"id": {"S": sub}})
    try:
        cognito.admin_delete_user(UserPoolId=user_pool_id, Username=user["Username"])
    except ClientError as error:
        if error.response["Error"]["Code"] != "UserNotFoundException":
            raise


def cleanup(
    cognito,
    dynamodb,
    user_pool_id: str,
    channels_table: str,
    max_age: timedelta,
    now: datetime,
    pace: Pace | None = None,
) -> Summary:
    """Remove every user unconfirmed for longer than `max_age`; one failure stops no other."""
    pace = pace or Pace(DELETIONS_PER_SECOND)
    summary = Summary()
    users = list(stale_unconfirmed_users(cognito, user_pool_id, now - max_age))
    summary.found = len(users)

    def remove(user: dict) -> str | None:
        pace.wait()
        try:
            remove_user(cognito, dynamodb, user_pool_id, channels_table, user)
        except ClientError as error:
            logger.warning(
                "could not remove unconfirmed user %s",
                user["Username"],
                extra={"username": user["Username"], "error": str(error)},
            )
            return user["Username"]
        return None

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for username in pool.map(remove, users):
            if username is None:
                summary.deleted += 1
            else:
                summary.failed.append(username)
    return summary


def handler(event: dict, context: object) -> dict:
    """The scheduled Lambda entry point; fails when any user could not be removed."""
    config = Config(retries={"mode": "standard", "max_attempts": 8})
    summary = cleanup(
        boto3.client("cognito-idp", config=config),
        boto3.client("dynamodb", config=config),
        os.environ["USER_POOL_ID"],
        os.environ["CHANNELS_TABLE_NAME"],
        timedelta(hours=float(os.environ["UNCONFIRMED_MAX_AGE_HOURS"])),
        datetime.now(UTC),
    )
    logger.info("unconfirmed users cleaned up", extra=summary.as_log())
    if summary.failed:
        raise RuntimeError(
            f"{len(summary.failed)} of {summary.found} unconfirmed users could not be removed; "
            "the next run tries them again"
        )
    return summary.as_log()
