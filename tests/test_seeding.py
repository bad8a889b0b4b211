"""`python -m seeding` against tables created in moto from the program's own declarations."""

import io
import json
import subprocess
import sys
from datetime import datetime

import boto3
import pytest

from emulator.program import PROJECT_DIR
from seeding.cli import main
from tests.conftest import EXAMPLE_SEED_FILE, run_module


def _seed(stack, *args: str, environ: dict | None = None, session=None) -> tuple[int, str]:
    out = io.StringIO()
    code = main(stack.cli_args(*args), environ=environ or {}, session=session, out=out)
    return code, out.getvalue()


def _dry_run_rows(out: str) -> list[dict]:
    """The rows a dry run printed, in order (`would put TABLE {...}`)."""
    return [
        json.loads(line.split(" ", 3)[3])
        for line in out.splitlines()
        if line.startswith("would put ")
    ]


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _live(sessions: list[dict]) -> list[dict]:
    return [s for s in sessions if s.get("isOpen") == "true"]


def test_defaults_write_fifty_sessions_one_of_them_offline_each_with_its_own_channel(stack):
    code, out = _seed(stack)

    channels = stack.rows(stack.channels_table)
    sessions = stack.rows(stack.streams_table)
    assert code == 0
    assert (len(channels), len(sessions), len(_live(sessions))) == (50, 50, 49)
    assert len({s["channelArn"] for s in sessions}) == 50
    assert "50 stream session(s) (49 live, 1 offline)" in out


def test_made_up_rows_carry_every_field_the_platform_reads(stack):
    code, _ = _seed(stack, "--count", "6", "--offline", "2")

    channels = {c["id"]: c for c in stack.rows(stack.channels_table)}
    sessions = stack.rows(stack.streams_table)
    assert code == 0
    for session in sessions:
        channel = channels[session["userSub"]]
        assert session["channelArn"] == channel["channelArn"]
        assert channel["channelArn"].startswith("arn:aws:ivs:us-west-2:123456789012:channel/")
        assert ".us-west-2.playback.live-video.net/" in channel["playbackUrl"]
        assert channel["id"].startswith("mock-user-id-") and session["id"].startswith(
            "mock-stream-id-"
        )
        assert channel["avatar"] and channel["color"] and "@" in channel["email"]
        for empty in ("chatRoomArn", "ingestEndpoint", "streamKeyArn", "streamKeyValue"):
            assert channel[empty] == ""
        assert session["isHealthy"] is True and session["hasErrorEvent"] is False
        _time(session["startTime"])

    live = _live(sessions)
    offline = [s for s in sessions if "isOpen" not in s]
    assert (len(live), len(offline)) == (4, 2)
    for session in live:
        assert "endTime" not in session
        assert [e["name"] for e in session["truncatedEvents"]] == ["Stream Start"]
    for session in offline:
        assert _time(session["endTime"]) > _time(session["startTime"])
        assert session["truncatedEvents"][-1]["name"] == "Stream End"


def test_seed_file_rows_come_first_and_count_towards_the_total(stack):
    example = json.loads(EXAMPLE_SEED_FILE.read_text())

    code, _ = _seed(stack, "--count", "5", "--offline", "1", "--json", str(EXAMPLE_SEED_FILE))

    channels = {c["id"]: c for c in stack.rows(stack.channels_table)}
    sessions = {s["id"]: s for s in stack.rows(stack.streams_table)}
    assert code == 0
    assert (len(channels), len(sessions)) == (5, 5)
    for user in example["users"]:
        assert channels[user["id"]] == user
    for session in example["streamSessions"]:
        assert sessions[session["id"]] == session
    made_up = [
        s for s in sessions.values() if s["id"] not in {x["id"] for x in example["streamSessions"]}
    ]
    assert (len(made_up), len(_live(made_up))) == (3, 2)


def test_environment_variables_of_the_old_tooling_set_the_defaults(stack):
    environ = {"SEED_COUNT": "7", "OFFLINE_SESSION_COUNT": "3", "JSON": str(EXAMPLE_SEED_FILE)}

    code, _ = _seed(stack, environ=environ)

    sessions = stack.rows(stack.streams_table)
    assert code == 0
    assert len(sessions) == 7
    assert {"mock-stream-id-0", "mock-stream-id-1"} <= {s["id"] for s in sessions}
    assert len([s for s in sessions if s.get("endTime")]) == 3


def test_flags_win_over_environment_variables(stack):
    code, _ = _seed(
        stack,
        "--count",
        "4",
        "--offline",
        "0",
        environ={"SEED_COUNT": "9", "OFFLINE_SESSION_COUNT": "2"},
    )

    sessions = stack.rows(stack.streams_table)
    assert code == 0
    assert (len(sessions), len(_live(sessions))) == (4, 4)


def test_a_rerun_adds_new_rows_with_usernames_and_emails_unused_so_far(stack):
    assert _seed(stack, "--count", "20", "--seed", "7")[0] == 0
    assert _seed(stack, "--count", "20", "--seed", "7")[0] == 0

    channels = stack.rows(stack.channels_table)
    assert len(stack.rows(stack.streams_table)) == 40
    assert len(channels) == 40
    assert len({c["username"] for c in channels}) == 40
    assert len({c["email"] for c in channels}) == 40


def test_the_same_seed_makes_the_same_rows_in_empty_tables(stack, moto_server, dev_program):
    def usernames_after_seeding() -> list[tuple[str, str, str]]:
        moto_server.reset()
        from emulator.tables import create_tables

        create_tables(stack.client, dev_program)
        assert _seed(stack, "--count", "5", "--seed", "42")[0] == 0
        return sorted(
            (c["id"], c["username"], c["avatar"]) for c in stack.rows(stack.channels_table)
        )

    assert usernames_after_seeding() == usernames_after_seeding()


def test_dry_run_prints_every_row_and_writes_nothing(stack):
    code, out = _seed(stack, "--count", "3", "--json", str(EXAMPLE_SEED_FILE), "--dry-run")

    lines = out.splitlines()
    assert code == 0
    assert len([line for line in lines if line.startswith("would put ")]) == 3 + 3
    assert "nothing was written" in lines[-1]
    assert stack.rows(stack.channels_table) == [] and stack.rows(stack.streams_table) == []


def _put_foreign_rows(stack) -> None:
    table = boto3.resource("dynamodb", region_name="us-west-2", endpoint_url=stack.endpoint_url)
    table.Table(stack.channels_table).put_item(Item={"id": "3f1c-real-user", "username": "real"})
    table.Table(stack.channels_table).put_item(Item={"id": "real-mock-user-id-1", "username": "x"})
    table.Table(stack.streams_table).put_item(
        Item={
            "channelArn": "arn:aws:ivs:us-west-2:1:channel/real",
            "id": "st-REAL",
            "startTime": "2026-01-01T00:00:00Z",
        }
    )
    table.Table(stack.streams_table).put_item(
        Item={"channelArn": "arn:aws:ivs:us-west-2:1:channel/real", "id": "st-mock-stream-id-2"}
    )


def test_delete_removes_every_seeded_row_on_every_page_and_nothing_else(stack, monkeypatch):
    assert _seed(stack, "--count", "60", "--json", str(EXAMPLE_SEED_FILE))[0] == 0
    _put_foreign_rows(stack)
    monkeypatch.setattr("seeding.tables.seeded_keys.__defaults__", (7,))
    session = boto3.session.Session()
    scans = []
    session.events.register("after-call.dynamodb.Scan", lambda **kwargs: scans.append(1))

    code, out = _seed(stack, "--delete", session=session)

    assert code == 0
    assert len(scans) > 2 * 60 / 7
    assert sorted(c["id"] for c in stack.rows(stack.channels_table)) == [
        "3f1c-real-user",
        "real-mock-user-id-1",
    ]
    assert sorted(s["id"] for s in stack.rows(stack.streams_table)) == [
        "st-REAL",
        "st-mock-stream-id-2",
    ]
    assert "Deleted 60 seeded channel row(s)" in out and "60 seeded stream session(s)" in out


def test_delete_dry_run_lists_the_seeded_keys_and_deletes_nothing(stack):
    assert _seed(stack, "--count", "4")[0] == 0
    _put_foreign_rows(stack)

    code, out = _seed(stack, "--delete", "--dry-run")

    assert code == 0
    assert len([line for line in out.splitlines() if line.startswith("would delete ")]) == 8
    assert "3f1c-real-user" not in out and "st-REAL" not in out
    assert len(stack.rows(stack.channels_table)) == 6


@pytest.mark.parametrize(
    ("args", "environ", "expected"),
    [
        (
            ["--count", "1", "--json", str(EXAMPLE_SEED_FILE)],
            {},
            "The count of 1 (--count) is less than the 2 sessions",
        ),
        (
            ["--count", "3", "--offline", "4"],
            {},
            "4 offline sessions (--offline) do not fit in the count of 3 (--count)",
        ),
        (
            [],
            {"SEED_COUNT": "3", "OFFLINE_SESSION_COUNT": "9"},
            "9 offline sessions (OFFLINE_SESSION_COUNT) do not fit in the count of 3 (SEED_COUNT)",
        ),
        ([], {"SEED_COUNT": "many"}, "SEED_COUNT must be a whole number, but 'many' is not"),
        ([], {"OFFLINE_SESSION_COUNT": "-1"}, "OFFLINE_SESSION_COUNT must be a whole number"),
        (["--delete", "--count", "3"], {}, "--count has no meaning with --delete"),
        (["--json", "missing.json"], {}, "missing.json does not exist"),
        (["--endpoint-url", "notaurl"], {}, "--endpoint-url 'notaurl' is not a URL"),
        ([], {"AWS_ENDPOINT_URL": "notaurl"}, "AWS_ENDPOINT_URL 'notaurl' is not a URL"),
        ([], {"AWS_ENDPOINT_URL": "ftp://x"}, "AWS_ENDPOINT_URL 'ftp://x' is not a URL"),
        (["--endpoint-url", "http://127.0.0.1:99999"], {}, "is not a URL"),
        (["--endpoint-url", "http://[::1"], {}, "is not a URL"),
        (["--stack", "dev"], {}, "--stack and --outputs-file both name the tables"),
        ([], {"AWS_MAX_ATTEMPTS": "abc"}, "The AWS client could not be set up"),
        ([], {"AWS_PROFILE": "nope"}, "could not be"),
    ],
)
def test_bad_arguments_exit_2_with_one_sentence_and_write_nothing(
    stack, monkeypatch, capsys, args, environ, expected
):
    if "--endpoint-url" not in args and "AWS_ENDPOINT_URL" not in environ:
        args = ["--endpoint-url", stack.endpoint_url, *args]
    with monkeypatch.context() as env:
        for name in ("AWS_ENDPOINT_URL", "AWS_MAX_ATTEMPTS", "AWS_PROFILE"):
            if name in environ:
                env.setenv(name, environ[name])
        code = main(
            ["--outputs-file", str(stack.outputs_file), *args], environ=environ, out=io.StringIO()
        )

    assert code == 2
    assert expected in capsys.readouterr().err
    assert stack.rows(stack.channels_table) == [] and stack.rows(stack.streams_table) == []


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--count", "100001", "'100001' is more than 100,000"),
        ("--count", "-2", "'-2' is negative"),
        ("--json", "", "an empty path names no file"),
        ("--seed", "abc", "invalid int value"),
    ],
)
def test_flags_out_of_range_are_refused_by_the_parser(stack, capsys, flag, value, expected):
    with pytest.raises(SystemExit) as exited:
        _seed(stack, flag, value)

    assert exited.value.code == 2
    assert expected in capsys.readouterr().err


def test_delete_ignores_the_seeding_counts_in_the_environment(stack):
    assert _seed(stack, "--count", "2")[0] == 0

    code, _ = _seed(stack, "--delete", environ={"SEED_COUNT": "abc", "JSON": "/nowhere.json"})

    assert code == 0
    assert stack.rows(stack.streams_table) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"accountId": "[secret]"}, "holds accountId as a secret"),
        ({"accountId": 123456789012}, "has accountId 123456789012, which is not a 12-digit"),
        ({"region": "not a region!"}, "which is not a region such as us-west-2"),
        ({"streamsTableName": "data-channels-0000000"}, "names one table for both"),
    ],
)
def test_unusable_outputs_are_bad_input_naming_the_output(stack, capsys, change, expected):
    stack.outputs_file.write_text(json.dumps({**stack.outputs, **change}))

    code, _ = _seed(stack)

    assert code == 2
    assert expected in capsys.readouterr().err


@pytest.mark.parametrize("content", ["[" * 100_000, '{"x": ' + "1" * 5000 + "}"])
def test_outputs_files_python_cannot_read_are_bad_input(stack, capsys, content):
    stack.outputs_file.write_text(content)

    code, _ = _seed(stack)

    assert code == 2
    assert "is not the JSON that `pulumi stack output --json` prints" in capsys.readouterr().err


def test_an_endpoint_that_is_not_dynamodb_is_named(stack, capsys):
    code = main(
        [
            "--outputs-file",
            str(stack.outputs_file),
            "--endpoint-url",
            f"{stack.endpoint_url}/moto-api/",
        ],
        environ={},
        out=io.StringIO(),
    )

    assert code == 1
    assert "did not describe table" in capsys.readouterr().err


def test_a_dry_run_piped_into_head_ends_quietly(stack):
    command = " ".join([sys.executable, "-m", "seeding", *stack.cli_args("--count", "3000")])
    result = subprocess.run(
        f"{command} --dry-run | head -1",
        shell=True,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.stdout.startswith("would put ")
    assert "Traceback" not in result.stderr and "Error" not in result.stderr


def test_a_seed_file_with_one_bad_item_writes_nothing_at_all(stack, tmp_path, capsys):
    document = json.loads(EXAMPLE_SEED_FILE.read_text())
    document["streamSessions"][1]["isHealthy"] = "yes"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document))

    code, _ = _seed(stack, "--json", str(path))

    assert code == 2
    assert (
        "streamSessions[1].isHealthy: expected true or false, got a string"
        in capsys.readouterr().err
    )
    assert stack.rows(stack.channels_table) == [] and stack.rows(stack.streams_table) == []


def test_without_a_stack_or_outputs_file_the_cli_says_how_to_name_one(capsys):
    assert main([], environ={}) == 2
    assert "No stack given; pass --stack NAME" in capsys.readouterr().err


def test_tables_missing_from_the_account_are_named_before_anything_is_written(
    stack, tmp_path, capsys
):
    outputs = {**stack.outputs, "streamsTableName": "gone-table"}
    stack.outputs_file.write_text(json.dumps(outputs))

    code, _ = _seed(stack)

    assert code == 1
    assert "Table gone-table does not exist in us-west-2" in capsys.readouterr().err
    assert stack.rows(stack.channels_table) == []


def _without_credentials(monkeypatch, tmp_path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_no_credentials_for_aws_says_how_to_sign_in(stack, monkeypatch, tmp_path, capsys):
    _without_credentials(monkeypatch, tmp_path)

    code = main(["--outputs-file", str(stack.outputs_file)], environ={}, out=io.StringIO())

    assert code == 1
    assert "No AWS credentials were found; sign in" in capsys.readouterr().err


def test_no_credentials_for_an_emulator_says_any_will_do(stack, monkeypatch, tmp_path, capsys):
    _without_credentials(monkeypatch, tmp_path)

    code, _ = _seed(stack)

    assert code == 1
    assert "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to a dummy" in capsys.readouterr().err


def test_an_unreachable_endpoint_is_named(stack, monkeypatch, capsys):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")

    code = main(
        ["--outputs-file", str(stack.outputs_file), "--endpoint-url", "http://127.0.0.1:9"],
        environ={},
        out=io.StringIO(),
    )

    assert code == 1
    assert "Could not reach http://127.0.0.1:9" in capsys.readouterr().err


def test_a_broken_seed_file_from_the_shell_exits_2_without_a_traceback(stack, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"users": [}')

    result = run_module("seeding", *stack.cli_args("--json", str(path)))

    assert result.returncode == 2
    assert "is not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr
    assert stack.rows(stack.channels_table) == []


def test_aws_endpoint_url_from_the_environment_points_the_cli_at_the_emulator(stack):
    result = run_module(
        "seeding",
        "--outputs-file",
        str(stack.outputs_file),
        "--count",
        "2",
        AWS_ENDPOINT_URL=stack.endpoint_url,
    )

    assert result.returncode == 0, result.stderr
    assert len(stack.rows(stack.streams_table)) == 2


def test_numbers_from_the_seed_file_are_stored_exactly(stack, tmp_path):
    document = json.loads(EXAMPLE_SEED_FILE.read_text())
    path = tmp_path / "numbers.json"
    path.write_text(
        json.dumps(document)[:-1].replace(
            '"username": "mockUser0"', '"username": "mockUser0", "rating": 0.1, "views": 1e3'
        )
        + "}"
    )

    code, _ = _seed(stack, "--count", "2", "--json", str(path))

    rows = {row["id"]: row for row in stack.rows(stack.channels_table)}
    assert code == 0
    assert str(rows["mock-user-id-0"]["rating"]) == "0.1"
    assert rows["mock-user-id-0"]["views"] == 1000


def test_the_default_offline_session_gives_way_when_the_seed_file_fills_the_count(stack):
    code, out = _seed(stack, "--count", "2", "--json", str(EXAMPLE_SEED_FILE))

    assert code == 0
    assert len(stack.rows(stack.streams_table)) == 2
    assert "2 channel row(s)" in out


def test_is_open_index_lists_only_live_sessions_with_what_the_api_reads(stack):
    assert _seed(stack, "--count", "5", "--offline", "2")[0] == 0

    live = []
    for row in stack.rows(stack.streams_table):
        response = stack.client.query(
            TableName=stack.streams_table,
            IndexName="isOpenIndex",
            KeyConditionExpression="channelArn = :arn AND isOpen = :open",
            ExpressionAttributeValues={":arn": {"S": row["channelArn"]}, ":open": {"S": "true"}},
        )
        live += response["Items"]

    assert len(live) == 3
    for item in live:
        assert {"channelArn", "startTime", "truncatedEvents", "id", "isOpen"} <= set(item)
        assert "userSub" not in item


def test_the_same_seed_twice_on_the_same_tables_gives_distinct_channels(stack):
    for _ in range(2):
        assert _seed(stack, "--seed", "9", "--count", "3", "--offline", "0")[0] == 0

    channels = stack.rows(stack.channels_table)
    assert len({c["channelArn"] for c in channels}) == 6
    assert len(_live(stack.rows(stack.streams_table))) == 6


def test_a_username_whose_emails_are_all_taken_gives_way_to_another(stack, tmp_path):
    first = io.StringIO()
    assert (
        main(stack.cli_args("--seed", "42", "--count", "1", "--dry-run"), environ={}, out=first)
        == 0
    )
    username = _dry_run_rows(first.getvalue())[0]["username"]
    users = [
        {
            "id": f"u{n}",
            "username": f"taken{n}",
            "email": f"{username}@example.{tld}",
            "channelArn": f"a{n}",
        }
        for n, tld in enumerate(["com", "org", "net"])
    ]
    path = tmp_path / "emails.json"
    path.write_text(json.dumps({"users": users, "streamSessions": []}))

    code, out = _seed(stack, "--seed", "42", "--count", "1", "--json", str(path), "--dry-run")

    assert code == 0
    made_up = [row for row in _dry_run_rows(out) if row.get("email")][3]
    assert made_up["email"] not in {u["email"] for u in users}
    assert made_up["username"] != username
