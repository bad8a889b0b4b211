"""Reads a seed file (`users`, `streamSessions`) and checks all of it before anything is written."""

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from boto3.dynamodb.types import TypeSerializer

from seeding.errors import BadInput
from seeding.schema import (
    CHANNEL_FIELDS,
    CHANNEL_PREFIX,
    SESSION_FIELDS,
    SESSION_PREFIX,
    Field,
)

SECTIONS = ("users", "streamSessions")
MAX_ITEM_BYTES = 400 * 1024
MAX_REPORTED = 20

_TYPE_NAMES = {
    str: "a string",
    bool: "true or false",
    list: "an array",
    dict: "an object",
    int: "a number",
    Decimal: "a number",
    type(None): "null",
}


@dataclass
class SeedFile:
    """The file's rows, ready to write: ids carry the seeded prefixes."""

    path: Path
    channels: list[dict]
    sessions: list[dict]


class _Object(dict):
    """A JSON object that remembers the field names it held more than once."""

    repeated: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, object]]) -> _Object:
    result = _Object(pairs)
    if len(result) < len(pairs):
        names = [name for name, _ in pairs]
        result.repeated = tuple(sorted({n for n in names if names.count(n) > 1}))
    return result


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number DynamoDB can store")


def _type_name(value: object) -> str:
    for kind, name in _TYPE_NAMES.items():
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return name
    return type(value).__name__


def _parse_time(text: object) -> datetime | None:
    """An ISO-8601 time with a zone, or None."""
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _item_size(value: object) -> int:
    """An upper estimate of the bytes DynamoDB counts for a value."""
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, (bool, type(None))):
        return 1
    if isinstance(value, (int, Decimal)):
        return len(str(value)) // 2 + 2
    if isinstance(value, list):
        return 3 + sum(1 + _item_size(v) for v in value)
    if isinstance(value, dict):
        return 3 + sum(len(k.encode()) + 1 + _item_size(v) for k, v in value.items())
    return len(str(value).encode())


class _Checker:
    """Collects every problem of a file, each as a sentence naming the item and the field."""

    def __init__(self):
        self.problems: list[str] = []
        self._serializer = TypeSerializer()

    def add(self, where: str, problem: str) -> None:
        self.problems.append(f"{where}: {problem}")

    def item(self, where: str, item: object, fields: dict[str, Field]) -> bool:
        """Check one item alone; True when its key is sound enough to compare with others."""
        if not isinstance(item, dict):
            self.add(where, f"expected an object, got {_type_name(item)}")
            return False
        for name in getattr(item, "repeated", ()):
            self.add(f"{where}.{name}", "appears more than once in the object")
        sound = True
        for name, spec in fields.items():
            if not self._field(f"{where}.{name}", item, name, spec) and spec.key:
                sound = False
        for name, value in item.items():
            try:
                self._serializer.serialize(value)
            except Exception:  # noqa: BLE001 every serializer refusal means the same to the user
                self.add(f"{where}.{name}", "holds a value DynamoDB cannot store exactly")
        if _item_size(item) > MAX_ITEM_BYTES:
            self.add(where, "is larger than DynamoDB's 400 KB item limit")
        return sound

    def _field(self, where: str, item: dict, name: str, spec: Field) -> bool:
        """Check one known field; False when it has a problem or a key field is missing."""
        if name not in item:
            if spec.key:
                self.add(where, "is missing; it is part of the table's key")
            return not spec.key
        value = item[name]
        if not isinstance(value, spec.kind) or (spec.kind is not bool and isinstance(value, bool)):
            self.add(where, f"expected {_TYPE_NAMES[spec.kind]}, got {_type_name(value)}")
            return False
        if spec.kind is str and (spec.key or spec.indexed) and not value:
            self.add(where, "is empty; DynamoDB does not allow an empty key or index key")
            return False
        if spec.timestamp and value and _parse_time(value) is None:
            self.add(
                where,
                f"{value!r} is not an ISO-8601 time with a zone, such as 2026-01-31T18:00:00Z",
            )
            return False
        return True


def _read_json(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"Seed file {path} does not exist; check the --json path or JSON variable.")
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(
            f"Seed file {path} cannot be read as UTF-8 text ({error}); pass a JSON file."
        )
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_reject_constant,
            object_pairs_hook=_object,
        )
    except json.JSONDecodeError as error:
        raise BadInput(
            f"Seed file {path} is not valid JSON: {error.msg} at line {error.lineno} "
            f"column {error.colno}; fix the file and run again."
        )
    except ValueError as error:
        raise BadInput(f"Seed file {path} holds {error}; replace it with a number and run again.")


def _prefixed(value: str, prefix: str) -> str:
    return value if value.startswith(prefix) else prefix + value


def load(path: Path) -> SeedFile:
    """Read and check a seed file; raises BadInput naming every problem, and nothing is written."""
    document = _read_json(path)
    check = _Checker()

    if not isinstance(document, dict):
        raise BadInput(
            f"Seed file {path} must hold a JSON object with 'users' and 'streamSessions', "
            f"not {_type_name(document)}."
        )
    for name in document:
        if name not in SECTIONS:
            check.add(
                name,
                "is not a known top-level key; the file may hold only 'users' and 'streamSessions'",
            )
    sections = {}
    for name in SECTIONS:
        section = document.get(name, [])
        if not isinstance(section, list):
            check.add(name, f"expected an array, got {_type_name(section)}")
            section = []
        sections[name] = section

    users = [
        (f"users[{i}]", item)
        for i, item in enumerate(sections["users"])
        if check.item(f"users[{i}]", item, CHANNEL_FIELDS)
    ]
    sessions = [
        (f"streamSessions[{i}]", item)
        for i, item in enumerate(sections["streamSessions"])
        if check.item(f"streamSessions[{i}]", item, SESSION_FIELDS)
    ]
    channels, renamed = _channels(users, check)
    rows = _sessions(sessions, channels, renamed, check)
    if check.problems:
        _fail(path, check.problems)
    return SeedFile(path=path, channels=[row for _, row in channels], sessions=rows)


def _channels(
    users: list[tuple[str, dict]], check: _Checker
) -> tuple[list[tuple[str, dict]], dict]:
    """Prefix the users' ids and check that ids, usernames and emails are each used once."""
    rows = []
    renamed = {}
    first_seen: dict[tuple[str, str], str] = {}
    for where, user in users:
        row = dict(user)
        row["id"] = _prefixed(user["id"], CHANNEL_PREFIX)
        renamed[user["id"]] = row["id"]
        for name in ("id", "username", "email", "channelArn"):
            if not isinstance(row.get(name), str):
                continue
            earlier = first_seen.setdefault((name, row[name]), where)
            if earlier != where:
                check.add(f"{where}.{name}", f"{row[name]!r} is already used by {earlier}")
        rows.append((where, row))
    return rows, renamed


def _sessions(
    sessions: list[tuple[str, dict]],
    channels: list[tuple[str, dict]],
    renamed: dict[str, str],
    check: _Checker,
) -> list[dict]:
    """Prefix the sessions' ids and check each one's channel, times and open state."""
    channel_arns = {
        row.get("channelArn") for _, row in channels if isinstance(row.get("channelArn"), str)
    }
    first_seen: dict[tuple[str, str], str] = {}
    open_on: dict[str, str] = {}
    rows = []
    for where, session in sessions:
        row = dict(session)
        row["id"] = _prefixed(session["id"], SESSION_PREFIX)
        if isinstance(row.get("userSub"), str) and row["userSub"] in renamed:
            row["userSub"] = renamed[row["userSub"]]

        earlier = first_seen.setdefault((row["channelArn"], row["id"]), where)
        if earlier != where:
            check.add(f"{where}.id", f"{row['id']!r} is already used on this channel by {earlier}")
        if row["channelArn"] not in channel_arns:
            check.add(
                f"{where}.channelArn",
                f"{row['channelArn']!r} belongs to no user in the file; add one or fix the ARN",
            )
        if "isOpen" in row:
            if row["isOpen"] != "true":
                check.add(
                    f"{where}.isOpen", 'must be the string "true" or left out for an ended session'
                )
            elif row["channelArn"] in open_on:
                check.add(
                    f"{where}.isOpen",
                    f"the channel already has an open session in {open_on[row['channelArn']]}",
                )
            else:
                open_on[row["channelArn"]] = where
        start, end = _parse_time(row.get("startTime")), _parse_time(row.get("endTime"))
        if start and end and end < start:
            check.add(f"{where}.endTime", "is before startTime")
        rows.append(row)
    return rows


def _fail(path: Path, problems: list[str]):
    shown = problems[:MAX_REPORTED]
    more = len(problems) - len(shown)
    lines = [f"Seed file {path} has {len(problems)} problem(s); nothing was written:"]
    lines += [f"  {problem}." for problem in shown]
    if more:
        lines.append(f"  ... and {more} more.")
    raise BadInput("\n".join(lines))
