"""Unconfirmed users are removed after a day, row first, against Cognito and DynamoDB in moto."""

import itertools
import threading
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from handlers._pace import Pace
from handlers.cleanup_unconfirmed_users import WORKERS, cleanup

NOW = datetime.now(UTC)
DAY = timedelta(hours=24)
QUICK = 1000.0


class Pool:
    """A user pool in moto whose users can be made to look older than they are."""

    def __init__(self, stack):
        self.stack = stack
        self.cognito = boto3.client(
            "cognito-idp", region_name="us-west-2", endpoint_url=stack.endpoint_url
        )
        self.id = self.cognito.create_user_pool(PoolName=f"pool-{uuid.uuid4().hex[:8]}")[
            "UserPool"
        ]["Id"]
        self.client_id = self.cognito.create_user_pool_client(UserPoolId=self.id, ClientName="api")[
            "UserPoolClient"
        ]["ClientId"]
        self.ages: dict[str, timedelta] = {}
        self.subs: dict[str, str] = {}
        self.cognito.meta.events.register("after-call.cognito-idp.ListUsers", self._age)

    def _age(self, parsed, **_):
        for user in parsed.get("Users", []):
            if user["Username"] in self.ages:
                user["UserCreateDate"] = NOW - self.ages[user["Username"]]

    def sign_up(self, username: str, age: timedelta, confirmed=False, with_row=True) -> str:
        sub = self.cognito.sign_up(
            ClientId=self.client_id,
            Username=username,
            Password="Passw0rd!",
            UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"}],
        )["UserSub"]
        if confirmed:
            self.cognito.admin_confirm_sign_up(UserPoolId=self.id, Username=username)
        if with_row:
            self.stack.client.put_item(
                TableName=self.stack.channels_table,
                Item={"id": {"S": sub}, "username": {"S": username}},
            )
        self.ages[username] = age
        self.subs[username] = sub
        return sub

    def usernames(self) -> set[str]:
        pages = self.cognito.get_paginator("list_users").paginate(UserPoolId=self.id)
        return {user["Username"] for page in pages for user in page["Users"]}

    def row_ids(self) -> set[str]:
        return {row["id"] for row in self.stack.rows(self.stack.channels_table)}

    def run(self, pace: Pace | None = None):
        return cleanup(
            self.cognito,
            self.stack.client,
            self.id,
            self.stack.channels_table,
            DAY,
            NOW,
            pace or Pace(QUICK),
        )


@pytest.fixture
def pool(stack) -> Pool:
    return Pool(stack)


def test_users_unconfirmed_for_over_a_day_go_from_every_page_and_their_rows_with_them(pool):
    stale = [f"stale{i:02}" for i in range(65)]
    for username in stale:
        pool.sign_up(username, timedelta(hours=30))
    for username in ("conf1", "conf2"):
        pool.sign_up(username, timedelta(days=9), confirmed=True)
    pool.sign_up("fresh", timedelta(hours=23, minutes=30))
    pool.sign_up("justover", timedelta(hours=24, minutes=30))
    listings = []
    pool.cognito.meta.events.register(
        "after-call.cognito-idp.ListUsers", lambda **_: listings.append(1)
    )

    summary = pool.run()

    assert (summary.found, summary.deleted, summary.failed) == (66, 66, [])
    assert len(listings) >= 2
    assert pool.usernames() == {"conf1", "conf2", "fresh"}
    assert pool.row_ids() == {pool.subs[name] for name in ("conf1", "conf2", "fresh")}


def test_confirmed_users_are_never_touched_however_old(pool):
    pool.sign_up("veteran", timedelta(days=400), confirmed=True)

    summary = pool.run()

    assert summary.found == 0
    assert pool.usernames() == {"veteran"}
    assert pool.row_ids() == {pool.subs["veteran"]}


def test_a_user_without_a_channels_row_is_still_removed(pool):
    pool.sign_up("rowless", timedelta(days=3), with_row=False)

    summary = pool.run()

    assert summary.deleted == 1 and pool.usernames() == set()


def test_the_channels_row_goes_before_the_user(pool):
    sub = pool.sign_up("ordered", timedelta(days=3))
    calls = []
    pool.stack.client.meta.events.register(
        "before-call.dynamodb.DeleteItem", lambda params, **_: calls.append("row")
    )
    pool.cognito.meta.events.register(
        "before-call.cognito-idp.AdminDeleteUser", lambda params, **_: calls.append("user")
    )

    pool.run()

    assert calls == ["row", "user"]
    assert sub not in pool.row_ids()


def _fail_for(username: str, code: str):
    def hook(params, **_):
        if params["body"] and username.encode() in params["body"]:
            raise ClientError({"Error": {"Code": code, "Message": code}}, "AdminDeleteUser")

    return hook


def test_one_failed_deletion_stops_no_other_and_is_reported(pool):
    for name in ("a1", "a2", "broken", "a3"):
        pool.sign_up(name, timedelta(days=2))
    pool.cognito.meta.events.register(
        "before-call.cognito-idp.AdminDeleteUser", _fail_for("broken", "InternalErrorException")
    )

    summary = pool.run()

    assert summary.failed == ["broken"]
    assert summary.deleted == 3
    assert pool.usernames() == {"broken"}


def test_a_user_already_gone_counts_as_removed(pool):
    pool.sign_up("vanished", timedelta(days=2))
    pool.cognito.meta.events.register(
        "before-call.cognito-idp.AdminDeleteUser", _fail_for("vanished", "UserNotFoundException")
    )

    summary = pool.run()

    assert (summary.deleted, summary.failed) == (1, [])


def test_deletions_run_a_few_at_a_time(pool):
    for index in range(20):
        pool.sign_up(f"user{index}", timedelta(days=2))
    lock = threading.Lock()
    in_flight = {"now": 0, "most": 0}

    def started(**_):
        with lock:
            in_flight["now"] += 1
            in_flight["most"] = max(in_flight["most"], in_flight["now"])

    def finished(**_):
        with lock:
            in_flight["now"] -= 1

    pool.cognito.meta.events.register("before-call.cognito-idp.AdminDeleteUser", started)
    pool.cognito.meta.events.register("after-call.cognito-idp.AdminDeleteUser", finished)

    assert pool.run().deleted == 20
    assert 1 <= in_flight["most"] <= WORKERS


def test_pace_spaces_callers_at_most_the_given_number_a_second():
    clock = [0.0]
    pace = Pace(
        5, clock=lambda: clock[0], sleep=lambda seconds: clock.__setitem__(0, clock[0] + seconds)
    )
    turns = []

    for _ in range(11):
        pace.wait()
        turns.append(clock[0])

    assert turns[-1] == pytest.approx(2.0)
    assert all(later - earlier >= 0.2 - 1e-9 for earlier, later in itertools.pairwise(turns))
