"""Seed files are checked whole, and every problem names the item and the field."""

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seeding import seed_file
from seeding.errors import BadInput
from tests.conftest import EXAMPLE_SEED_FILE

ARN = "arn:aws:ivs:us-west-2:000000000000:channel/c1"


def _user(**fields) -> dict:
    return {"id": "u1", "username": "ann", "email": "ann@example.com", "channelArn": ARN, **fields}


def _session(**fields) -> dict:
    return {"channelArn": ARN, "id": "s1", "startTime": "2026-01-01T10:00:00Z", **fields}


def _write(tmp_path, document, name="seed.json"):
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def _problems(tmp_path, document) -> str:
    with pytest.raises(BadInput) as raised:
        seed_file.load(_write(tmp_path, document))
    return str(raised.value)


def test_example_file_from_the_original_tooling_loads_unchanged():
    before = EXAMPLE_SEED_FILE.read_bytes()
    original = json.loads(before)

    loaded = seed_file.load(EXAMPLE_SEED_FILE)

    assert EXAMPLE_SEED_FILE.read_bytes() == before
    assert loaded.channels == original["users"]
    assert loaded.sessions == original["streamSessions"]


def test_ids_without_the_seeded_prefix_get_it_and_user_subs_follow(tmp_path):
    document = {"users": [_user()], "streamSessions": [_session(userSub="u1")]}

    loaded = seed_file.load(_write(tmp_path, document))

    assert loaded.channels[0]["id"] == "mock-user-id-u1"
    assert loaded.sessions[0]["id"] == "mock-stream-id-s1"
    assert loaded.sessions[0]["userSub"] == "mock-user-id-u1"


def test_numbers_are_kept_exactly_and_unknown_attributes_as_given(tmp_path):
    text = (
        f'{{"users": [{{"id": "u1", "channelArn": "{ARN}", "score": 0.1,'
        ' "big": 123456789012345678901234567890,'
        ' "profile": {"links": ["a", null, true], "ratio": 1.10}}], "streamSessions": []}'
    )

    row = seed_file.load(_write(tmp_path, text)).channels[0]

    assert row["score"] == Decimal("0.1") and isinstance(row["score"], Decimal)
    assert row["big"] == 123456789012345678901234567890
    assert row["profile"] == {"links": ["a", None, True], "ratio": Decimal("1.10")}


def test_malformed_json_names_the_file_line_and_column(tmp_path):
    message = _problems(tmp_path, '{"users": [\n  {"id": "u1",}\n]}')

    assert "seed.json is not valid JSON" in message
    assert "line 2 column 15" in message


def test_a_top_level_array_is_refused(tmp_path):
    assert "must hold a JSON object" in _problems(tmp_path, [])


def test_unknown_top_level_keys_are_refused(tmp_path):
    message = _problems(tmp_path, {"users": [], "streamSessions": [], "channels": []})

    assert "channels: is not a known top-level key" in message


def test_sections_must_be_arrays_of_objects(tmp_path):
    message = _problems(tmp_path, {"users": {"id": "u1"}, "streamSessions": ["s1"]})

    assert "users: expected an array, got an object" in message
    assert "streamSessions[0]: expected an object, got a string" in message


@pytest.mark.parametrize(
    ("section", "item", "expected"),
    [
        ("users", _user(email=7), "users[0].email: expected a string, got a number"),
        ("users", _user(avatar=True), "users[0].avatar: expected a string, got true or false"),
        (
            "users",
            _user(channelAssets=[]),
            "users[0].channelAssets: expected an object, got an array",
        ),
        (
            "streamSessions",
            _session(isHealthy="yes"),
            "streamSessions[0].isHealthy: expected true or false, got a string",
        ),
        (
            "streamSessions",
            _session(hasErrorEvent=1),
            "streamSessions[0].hasErrorEvent: expected true or false, got a number",
        ),
        (
            "streamSessions",
            _session(truncatedEvents={}),
            "streamSessions[0].truncatedEvents: expected an array, got an object",
        ),
    ],
)
def test_known_fields_of_the_wrong_type_are_named(tmp_path, section, item, expected):
    document = {"users": [_user()], "streamSessions": []}
    document[section] = [item]

    assert expected in _problems(tmp_path, document)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"users": [{"username": "ann"}]}, "users[0].id: is missing"),
        (
            {"users": [_user()], "streamSessions": [{"id": "s1"}]},
            "streamSessions[0].channelArn: is missing",
        ),
        (
            {"users": [_user()], "streamSessions": [{"channelArn": ARN}]},
            "streamSessions[0].id: is missing",
        ),
    ],
)
def test_missing_key_attributes_are_named(tmp_path, document, expected):
    assert expected in _problems(tmp_path, document)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"users": [_user(id="")]}, "users[0].id: is empty"),
        ({"users": [_user(email="")]}, "users[0].email: is empty"),
        ({"users": [_user(channelAssetId="")]}, "users[0].channelAssetId: is empty"),
        (
            {"users": [_user()], "streamSessions": [_session(startTime="")]},
            "streamSessions[0].startTime: is empty",
        ),
        (
            {"users": [_user()], "streamSessions": [_session(isOpen="")]},
            "streamSessions[0].isOpen: is empty",
        ),
    ],
)
def test_empty_strings_in_key_or_index_attributes_are_refused(tmp_path, document, expected):
    assert expected in _problems(tmp_path, document)


def test_users_that_become_the_same_row_after_prefixing_are_duplicates(tmp_path):
    document = {
        "users": [
            _user(),
            _user(id="mock-user-id-u1", username="bo", email="b@x.io", channelArn="a2"),
        ]
    }

    assert "users[1].id: 'mock-user-id-u1' is already used by users[0]" in _problems(
        tmp_path, document
    )


def test_usernames_and_emails_must_be_unique_in_the_file(tmp_path):
    document = {"users": [_user(), _user(id="u2", channelArn="a2")]}

    message = _problems(tmp_path, document)

    assert "users[1].username: 'ann' is already used by users[0]" in message
    assert "users[1].email: 'ann@example.com' is already used by users[0]" in message


def test_sessions_with_the_same_key_are_duplicates(tmp_path):
    document = {
        "users": [_user()],
        "streamSessions": [_session(), _session(id="mock-stream-id-s1")],
    }

    assert "streamSessions[1].id: 'mock-stream-id-s1' is already used" in _problems(
        tmp_path, document
    )


def test_a_field_written_twice_in_one_object_is_refused(tmp_path):
    text = f'{{"users": [{{"id": "u1", "id": "u2", "channelArn": "{ARN}"}}]}}'

    assert "users[0].id: appears more than once" in _problems(tmp_path, text)


def test_a_session_whose_channel_has_no_user_in_the_file_is_refused(tmp_path):
    document = {"users": [_user()], "streamSessions": [_session(channelArn="arn:other")]}

    assert "streamSessions[0].channelArn: 'arn:other' belongs to no user" in _problems(
        tmp_path, document
    )


def test_a_channel_cannot_have_two_open_sessions(tmp_path):
    document = {
        "users": [_user()],
        "streamSessions": [_session(isOpen="true"), _session(id="s2", isOpen="true")],
    }

    assert "streamSessions[1].isOpen: the channel already has an open session" in _problems(
        tmp_path, document
    )


def test_is_open_is_either_the_string_true_or_absent(tmp_path):
    document = {"users": [_user()], "streamSessions": [_session(isOpen="false")]}

    assert 'streamSessions[0].isOpen: must be the string "true"' in _problems(tmp_path, document)


@pytest.mark.parametrize(
    "text", ['{"users": [{"id": "u1", "n": NaN}]}', '{"users": [{"id": "u1", "n": Infinity}]}']
)
def test_nan_and_infinity_are_refused(tmp_path, text):
    assert "users[0].n: holds a number DynamoDB cannot store exactly" in _problems(tmp_path, text)


def test_numbers_dynamodb_cannot_hold_exactly_are_named(tmp_path):
    precise = "0." + "1234567890" * 5
    text = f'{{"users": [{{"id": "u1", "huge": 1e200, "precise": {precise}}}]}}'

    message = _problems(tmp_path, text)

    assert "users[0].huge: holds a number DynamoDB cannot store exactly" in message
    assert "users[0].precise: holds a number DynamoDB cannot store exactly" in message


def test_an_integer_too_long_for_python_is_named_like_any_other_number(tmp_path):
    text = '{"users": [{"id": "u1", "views": ' + "7" * 5000 + "}]}"

    assert "users[0].views: holds a number DynamoDB cannot store" in _problems(tmp_path, text)


@pytest.mark.parametrize(
    "written",
    ["yesterday", "2026-01-01T10:00:00", "2026-01-01T10:00:00+09:00", "2024-W01-1T00:00Z"],
)
def test_times_must_be_utc_times_that_sort_as_text(tmp_path, written):
    document = {"users": [_user()], "streamSessions": [_session(startTime=written)]}

    message = _problems(tmp_path, document)

    assert f"streamSessions[0].startTime: {written!r} is not a UTC time written like" in message


def test_an_end_before_the_start_is_refused(tmp_path):
    document = {"users": [_user()], "streamSessions": [_session(endTime="2026-01-01T09:00:00Z")]}

    assert "streamSessions[0].endTime: is before startTime" in _problems(tmp_path, document)


def test_a_session_needs_a_start_time(tmp_path):
    document = {"users": [_user()], "streamSessions": [{"channelArn": ARN, "id": "s1"}]}

    assert "streamSessions[0].startTime: is missing" in _problems(tmp_path, document)


def test_an_open_session_cannot_have_an_end(tmp_path):
    session = _session(isOpen="true", endTime="2026-01-01T11:00:00Z")
    document = {"users": [_user()], "streamSessions": [session]}

    assert "streamSessions[0].isOpen: is set, but the session has an endTime" in _problems(
        tmp_path, document
    )


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"users": [_user(id="x" * 3000)]}, "users[0].id: is longer than the 2048 bytes"),
        ({"users": [_user(username="u" * 3000)]}, "users[0].username: is longer than the 2048"),
        (
            {"users": [_user()], "streamSessions": [_session(id="s" * 1500)]},
            "streamSessions[0].id: is longer than the 1024 bytes",
        ),
    ],
)
def test_keys_longer_than_dynamodb_allows_are_refused(tmp_path, document, expected):
    assert expected in _problems(tmp_path, document)


def test_values_nested_deeper_than_dynamodb_allows_are_refused(tmp_path):
    deep: object = "leaf"
    for _ in range(40):
        deep = {"k": deep}

    assert "is nested more than 32 levels deep" in _problems(tmp_path, {"users": [_user(x=deep)]})


def test_a_file_nested_too_deep_for_the_json_reader_is_refused(tmp_path):
    assert "is nested far deeper than" in _problems(tmp_path, "[" * 100_000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"users": [{"id": "u1", "": 1}]}', "users[0]: has a field with an empty name"),
        ('{"users": [{"id": "u1", "m": {"": 1}}]}', "users[0].m: has a field with an empty name"),
        ('{"users": [{"id": "u1", "x": "\\ud800"}]}', "users[0].x: holds text that is not valid"),
        (
            '{"users": [{"id": "u1", "m": {"k": 1, "k": 2}}]}',
            "users[0].m.k: appears more than once",
        ),
        (
            '{"users": [], "streamSessions": [], "users": []}',
            "users: appears more than once at the",
        ),
    ],
)
def test_names_text_and_repeats_dynamodb_or_json_would_lose_are_refused(tmp_path, text, expected):
    assert expected in _problems(tmp_path, text)


def test_problems_are_listed_in_the_order_of_the_file(tmp_path):
    document = {
        "users": [_user()],
        "streamSessions": [_session(channelArn="arn:nobody"), _session(id="s2", isHealthy=1)],
    }

    message = _problems(tmp_path, document)

    assert message.index("streamSessions[0]") < message.index("streamSessions[1]")


def test_an_item_over_dynamodbs_size_limit_is_refused(tmp_path):
    document = {"users": [_user(bio="x" * 410_000)]}

    assert "users[0]: is larger than DynamoDB's 400 KB item limit" in _problems(tmp_path, document)


def test_every_problem_is_reported_at_once_up_to_a_limit(tmp_path):
    document = {"users": [{"username": f"user{i}"} for i in range(30)]}

    message = _problems(tmp_path, document)

    assert "has 30 problems; nothing was written" in message
    assert message.count("is missing") == seed_file.MAX_REPORTED
    assert "and 10 more" in message


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(BadInput, match=r"nope\.json does not exist"):
        seed_file.load(tmp_path / "nope.json")


def test_a_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"users": [{"id": "é"}]}'.encode("latin-1"))

    with pytest.raises(BadInput, match="cannot be read as UTF-8"):
        seed_file.load(path)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_items = st.dictionaries(
    st.sampled_from(
        ["id", "channelArn", "username", "email", "startTime", "isOpen", "userSub", "x"]
    ),
    _json_values,
    max_size=6,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    document=st.one_of(
        _json_values,
        st.fixed_dictionaries(
            {"users": st.lists(_items, max_size=4), "streamSessions": st.lists(_items, max_size=4)}
        ),
    )
)
def test_any_json_document_is_either_accepted_or_refused_with_bad_input(tmp_path, document):
    try:
        loaded = seed_file.load(_write(tmp_path, document))
    except BadInput as error:
        assert str(error).startswith("Seed file ")
    else:
        assert all(row["id"].startswith("mock-user-id-") for row in loaded.channels)
        assert all(row["id"].startswith("mock-stream-id-") for row in loaded.sessions)


def test_an_empty_is_open_is_reported_once(tmp_path):
    document = {"users": [_user()], "streamSessions": [_session(isOpen="")]}

    assert _problems(tmp_path, document).count("isOpen") == 1


@pytest.mark.parametrize("number", ["-Infinity", "1E+126", "1e-131", "-1e-131"])
def test_numbers_outside_dynamodbs_range_are_refused(tmp_path, number):
    text = f'{{"users": [{{"id": "u1", "n": {number}}}]}}'

    assert "users[0].n: holds a number DynamoDB cannot store exactly" in _problems(tmp_path, text)


@pytest.mark.parametrize(
    "number", ["9.99E+125", "1E-130", "0", "-0.5", "12345678901234567890123456789012345678"]
)
def test_numbers_at_the_edges_of_dynamodbs_range_are_kept(tmp_path, number):
    text = f'{{"users": [{{"id": "u1", "channelArn": "a", "n": {number}}}]}}'

    assert seed_file.load(_write(tmp_path, text)).channels[0]["n"] == Decimal(number)


def test_a_number_with_a_huge_exponent_is_refused_not_computed(tmp_path):
    text = '{"users": [{"id": "u1", "x": 1e999999999999}]}'

    assert "users[0].x: holds a number DynamoDB cannot store exactly" in _problems(tmp_path, text)


def test_usernames_and_emails_differing_only_in_case_are_the_same(tmp_path):
    document = {
        "users": [_user(), _user(id="u2", channelArn="a2", username="ANN", email="Ann@Example.com")]
    }

    message = _problems(tmp_path, document)

    assert "users[1].username: 'ANN' is already used by users[0]" in message
    assert "users[1].email: 'Ann@Example.com' is already used by users[0]" in message


@pytest.mark.parametrize("name", ["stateVersion", "endEventTime", "healthEvent"])
def test_the_stream_handlers_own_fields_are_refused(tmp_path, name):
    document = {"users": [_user()], "streamSessions": [_session(**{name: "abc"})]}

    assert f"streamSessions[0].{name}: is kept by the stream events handler" in _problems(
        tmp_path, document
    )
