"""Reads a seed file (`users`, `streamSessions`) and checks all of it before anything is written."""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from seeding.errors import BadInput
from seeding.schema import (
    CHANNEL_FIELDS,
    CHANNEL_PREFIX,
    HANDLER_FIELDS,
    SESSION_FIELDS,
    SESSION_PREFIX,
    Field,
)

SECTIONS = ("users", "streamSessions")
# DynamoDB's limit is 400 KB counted its own way; this stays safely below it.
MAX_ITEM_BYTES = 400_000
MAX_DEPTH = 32
MAX_REPORTED = 20
_UTC_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")

_TYPE_NAMES = {
    bool: "true or false",
    str: "a string",
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


def _number(text: str) -> int | Decimal:
    # Decimal keeps integers longer than Python's int parsing allows; the checks refuse them.
    return int(text) if len(text) <= 40 else Decimal(text)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def storable_number(number: Decimal) -> bool:
    """Whether DynamoDB stores the number exactly: finite, 38 digits, 1E-130 to below 1E+126."""
    if not number.is_finite():
        return False
    if number == 0:
        return True
    # Significant digits and magnitude, read off the number without any arithmetic that could
    # round or overflow.
    digits = "".join(map(str, number.as_tuple().digits)).strip("0")
    return len(digits) <= 38 and -130 <= number.adjusted() <= 125


def _type_name(value: object) -> str:
    for kind, name in _TYPE_NAMES.items():
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _parse_time(text: object) -> datetime | None:
    """A UTC time written like 2026-01-31T18:00:00.000Z, or None."""
    if not isinstance(text, str) or not _UTC_TIME.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _utf8_size(text: str) -> int | None:
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def _item_size(value: object) -> int:
    """An upper estimate of the bytes DynamoDB counts for a value."""
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, (bool, type(None))):
        return 1
    if isinstance(value, (int, Decimal)):
        return len(str(value)) // 2 + 2
    if isinstance(value, list):
        return 3 + sum(1 + _item_size(v) for v in value)
    if isinstance(value, dict):
        return 3 + sum(_item_size(k) + 1 + _item_size(v) for k, v in value.items())
    return len(str(value))


class _Checker:
    """Collects every problem of a file, each as a sentence naming the item and the field."""

    def __init__(self):
        self._problems: list[tuple[tuple, str]] = []

    @property
    def problems(self) -> list[str]:
        """The problems in the order of the file."""
        return [text for _, text in sorted(self._problems, key=lambda p: p[0])]

    def add(self, position: tuple, where: str, problem: str) -> None:
        self._problems.append((position, f"{where}: {problem}"))

    def item(
        self, position: tuple, where: str, item: object, fields: dict[str, Field], prefix: str
    ) -> bool:
        """Check one item alone; True when its key is sound enough to compare with others."""
        if not isinstance(item, dict):
            self.add(position, where, f"expected an object, got {_type_name(item)}")
            return False
        self._values(position, where, item, depth=1)
        sound = True
        for name, spec in fields.items():
            id_prefix = prefix if name == "id" else ""
            if not self._field(position, f"{where}.{name}", item, name, spec, id_prefix):
                sound = sound and not spec.key
        if _item_size(item) > MAX_ITEM_BYTES:
            self.add(position, where, "is larger than DynamoDB's 400 KB item limit")
        return sound

    def _values(self, position: tuple, where: str, value: object, depth: int) -> None:
        """Check what DynamoDB refuses at any depth: names, text, numbers, nesting."""
        if depth > MAX_DEPTH:
            self.add(position, where, f"is nested more than {MAX_DEPTH} levels deep")
            return
        if isinstance(value, dict):
            for name in getattr(value, "repeated", ()):
                self.add(position, f"{where}.{name}", "appears more than once in its object")
            for name, inner in value.items():
                if not name:
                    self.add(position, where, "has a field with an empty name")
                elif _utf8_size(name) is None:
                    self.add(position, where, "has a field name that is not valid Unicode")
                self._values(position, f"{where}.{name}", inner, depth + 1)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                self._values(position, f"{where}[{index}]", inner, depth + 1)
        elif isinstance(value, str) and _utf8_size(value) is None:
            self.add(position, where, "holds text that is not valid Unicode")
        elif _is_number(value) and not storable_number(Decimal(value)):
            self.add(position, where, "holds a number DynamoDB cannot store exactly")

    def _field(
        self, position: tuple, where: str, item: dict, name: str, spec: Field, prefix: str
    ) -> bool:
        """Check one known field; False when it has a problem or a required field is missing."""
        if name not in item:
            if spec.key:
                self.add(position, where, "is missing; it is part of the table's key")
            elif spec.required:
                self.add(position, where, "is missing")
            return not (spec.key or spec.required)
        value = item[name]
        if not isinstance(value, spec.kind) or (spec.kind is not bool and isinstance(value, bool)):
            self.add(position, where, f"expected {_TYPE_NAMES[spec.kind]}, got {_type_name(value)}")
            return False
        if spec.kind is not str:
            return True
        size = _utf8_size(prefix + value)
        if (spec.key or spec.indexed) and not value:
            self.add(position, where, "is empty; DynamoDB does not allow an empty key or index key")
            return False
        if spec.max_bytes and size is not None and size > spec.max_bytes:
            self.add(
                position, where, f"is longer than the {spec.max_bytes} bytes DynamoDB allows a key"
            )
            return False
        if spec.timestamp and value and _parse_time(value) is None:
            self.add(
                position,
                where,
                f"{value!r} is not a UTC time written like 2026-01-31T18:00:00.000Z",
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
            parse_int=_number,
            parse_constant=Decimal,
            object_pairs_hook=_object,
        )
    except json.JSONDecodeError as error:
        raise BadInput(
            f"Seed file {path} is not valid JSON: {error.msg} at line {error.lineno} "
            f"column {error.colno}; fix the file and run again."
        )
    except RecursionError:
        raise BadInput(
            f"Seed file {path} is nested far deeper than the {MAX_DEPTH} levels DynamoDB "
            "allows; flatten it."
        )


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
    for name in getattr(document, "repeated", ()):
        check.add((0,), name, "appears more than once at the top level; merge the arrays")
    for name in document:
        if name not in SECTIONS:
            check.add(
                (0,),
                name,
                "is not a known top-level key; the file may hold only 'users' and 'streamSessions'",
            )
    sections = {}
    for name in SECTIONS:
        section = document.get(name, [])
        if not isinstance(section, list):
            check.add((0,), name, f"expected an array, got {_type_name(section)}")
            section = []
        sections[name] = section

    users = [
        ((1, i), f"users[{i}]", item)
        for i, item in enumerate(sections["users"])
        if check.item((1, i), f"users[{i}]", item, CHANNEL_FIELDS, CHANNEL_PREFIX)
    ]
    for i, item in enumerate(sections["streamSessions"]):
        for name in HANDLER_FIELDS if isinstance(item, dict) else ():
            if name in item:
                check.add(
                    (2, i),
                    f"streamSessions[{i}].{name}",
                    "is kept by the stream events handler; leave it out",
                )
    sessions = [
        ((2, i), f"streamSessions[{i}]", item)
        for i, item in enumerate(sections["streamSessions"])
        if check.item((2, i), f"streamSessions[{i}]", item, SESSION_FIELDS, SESSION_PREFIX)
    ]
    channels, renamed = _channels(users, check)
    rows = _sessions(sessions, channels, renamed, check)
    if check.problems:
        _fail(path, check.problems)
    return SeedFile(path=path, channels=channels, sessions=rows)


def _channels(users: list[tuple], check: _Checker) -> tuple[list[dict], dict[str, str]]:
    """Prefix the users' ids and check that ids, usernames, emails and channels are used once."""
    rows = []
    renamed = {}
    first_seen: dict[tuple[str, str], str] = {}
    for position, where, user in users:
        row = dict(user)
        row["id"] = _prefixed(user["id"], CHANNEL_PREFIX)
        renamed[user["id"]] = row["id"]
        for name in ("id", "username", "email", "channelArn"):
            if not isinstance(row.get(name), str):
                continue
            folded = row[name].lower() if name in ("username", "email") else row[name]
            earlier = first_seen.setdefault((name, folded), where)
            if earlier != where:
                check.add(
                    position, f"{where}.{name}", f"{row[name]!r} is already used by {earlier}"
                )
        rows.append(row)
    return rows, renamed


def _sessions(
    sessions: list[tuple], channels: list[dict], renamed: dict[str, str], check: _Checker
) -> list[dict]:
    """Prefix the sessions' ids and check each one's channel, times and open state."""
    channel_arns = {row["channelArn"] for row in channels if isinstance(row.get("channelArn"), str)}
    first_seen: dict[tuple[str, str], str] = {}
    open_on: dict[str, str] = {}
    rows = []
    for position, where, session in sessions:
        row = dict(session)
        row["id"] = _prefixed(session["id"], SESSION_PREFIX)
        if isinstance(row.get("userSub"), str) and row["userSub"] in renamed:
            row["userSub"] = renamed[row["userSub"]]

        earlier = first_seen.setdefault((row["channelArn"], row["id"]), where)
        if earlier != where:
            check.add(position, f"{where}.id", f"{row['id']!r} is already used by {earlier}")
        if row["channelArn"] not in channel_arns:
            check.add(
                position,
                f"{where}.channelArn",
                f"{row['channelArn']!r} belongs to no user in the file; add one or fix the ARN",
            )
        start, end = _parse_time(row.get("startTime")), _parse_time(row.get("endTime"))
        if start and end and end < start:
            check.add(position, f"{where}.endTime", "is before startTime")
        if row.get("isOpen"):
            if row["isOpen"] != "true":
                check.add(
                    position,
                    f"{where}.isOpen",
                    'must be the string "true", or left out for a session that has ended',
                )
            elif row.get("endTime"):
                check.add(position, f"{where}.isOpen", "is set, but the session has an endTime")
            elif row["channelArn"] in open_on:
                check.add(
                    position,
                    f"{where}.isOpen",
                    f"the channel already has an open session in {open_on[row['channelArn']]}",
                )
            else:
                open_on[row["channelArn"]] = where
        rows.append(row)
    return rows


def _fail(path: Path, problems: list[str]):
    shown = problems[:MAX_REPORTED]
    more = len(problems) - len(shown)
    count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
    lines = [f"Seed file {path} has {count}; nothing was written:"]
    lines += [f"  {problem}." for problem in shown]
    if more:
        lines.append(f"  ... and {more} more.")
    raise BadInput("\n".join(lines))
