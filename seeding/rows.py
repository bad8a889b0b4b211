"""Makes up channels and stream sessions that look like the platform's own."""

import random
import re
import string
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from faker import Faker

from seeding.schema import AVATARS, CHANNEL_PREFIX, COLORS, SESSION_PREFIX, STATE_CHANGE


@dataclass
class Taken:
    """Values that must not be handed out again: ids, channels, usernames and emails in use.

    All are kept in lower case, so values that differ only in case count as the same: sign-in
    ignores case.
    """

    ids: set[str] = field(default_factory=set)
    channel_arns: set[str] = field(default_factory=set)
    usernames: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)

    def add(self, row: dict) -> None:
        """Mark a channel row's id, channel, username and email as used."""
        self.ids.add(row["id"].lower())
        if isinstance(row.get("channelArn"), str):
            self.channel_arns.add(row["channelArn"].lower())
        if isinstance(row.get("username"), str):
            self.usernames.add(row["username"].lower())
        if isinstance(row.get("email"), str):
            self.emails.add(row["email"].lower())


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event(name: str, moment: datetime) -> dict:
    return {"eventTime": _iso(moment), "name": name, "type": STATE_CHANGE}


class RowMaker:
    """Makes channel rows and their sessions in a stack's region and account.

    Args:
        seed: makes every choice repeatable; times stay relative to `now`.
        taken: values already in the tables; the maker adds what it hands out.
    """

    def __init__(
        self, region: str, account_id: str, taken: Taken, now: datetime, seed: int | None = None
    ):
        self._region = region
        self._account_id = account_id
        self._taken = taken
        self._now = now
        self._random = random.Random(seed)
        self._faker = Faker()
        self._faker.seed_instance(self._random.getrandbits(64))

    def _token(self, length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(self._random.choice(alphabet) for _ in range(length))

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def _unique(self, make, taken: set[str]) -> str:
        value = make()
        while value.lower() in taken:
            value = make()
        taken.add(value.lower())
        return value

    def _identity(self) -> tuple[str, str]:
        """A username and an email, each unused; a new username whenever the email is taken."""
        while True:
            username = self._unique(self._username, self._taken.usernames)
            email = f"{username}@{self._faker.safe_domain_name()}"
            if email.lower() not in self._taken.emails:
                self._taken.emails.add(email.lower())
                return username, email

    def _username(self) -> str:
        name = re.sub(r"[^a-z0-9]", "", self._faker.user_name().lower())[:20]
        return name if len(name) >= 3 else name + self._token(3, string.digits)

    def channel(self) -> dict:
        """A channel row, as the platform writes it when a user signs up."""
        channel_arn = self._unique(
            lambda: f"arn:aws:ivs:{self._region}:{self._account_id}:channel/{self._token(12)}",
            self._taken.channel_arns,
        )
        channel_id = channel_arn.rsplit("/", 1)[-1]
        username, email = self._identity()
        playback_host = self._token(12, "0123456789abcdef")
        return {
            "id": self._unique(lambda: CHANNEL_PREFIX + self._uuid(), self._taken.ids),
            "username": username,
            "email": email,
            "avatar": self._random.choice(AVATARS),
            "color": self._random.choice(COLORS),
            "channelArn": channel_arn,
            "playbackUrl": (
                f"https://{playback_host}.{self._region}.playback.live-video.net/api/video/v1/"
                f"{self._region}.{self._account_id}.channel.{channel_id}.m3u8"
            ),
            "chatRoomArn": "",
            "ingestEndpoint": "",
            "streamKeyArn": "",
            "streamKeyValue": "",
        }

    def session(self, channel: dict, live: bool) -> dict:
        """A stream session of the channel: live now, or ended some days ago."""
        row = {
            "channelArn": channel["channelArn"],
            "id": SESSION_PREFIX + self._uuid(),
            "userSub": channel["id"],
            "isHealthy": True,
            "hasErrorEvent": False,
        }
        if live:
            start = self._now - timedelta(minutes=self._random.randint(1, 180))
            row["isOpen"] = "true"
            row["truncatedEvents"] = [_event("Stream Start", start)]
        else:
            start = self._now - timedelta(
                days=self._random.randint(1, 30), minutes=self._random.randint(0, 1439)
            )
            end = start + timedelta(minutes=self._random.randint(5, 240))
            row["endTime"] = _iso(end)
            row["truncatedEvents"] = [_event("Stream Start", start), _event("Stream End", end)]
        row["startTime"] = _iso(start)
        return row


@dataclass
class Plan:
    """The rows of one seeding run, in the order they are written."""

    channels: list[dict]
    sessions: list[dict]


def plan(
    maker: RowMaker,
    count: int,
    offline: int,
    file_channels: list[dict] = (),
    file_sessions: list[dict] = (),
) -> Plan:
    """The file's rows first, then `offline` ended sessions, then live ones up to `count` sessions.

    Each made-up session comes with its own channel.
    """
    channels, sessions = list(file_channels), list(file_sessions)
    for number in range(count - len(sessions)):
        channel = maker.channel()
        channels.append(channel)
        sessions.append(maker.session(channel, live=number >= offline))
    return Plan(channels=channels, sessions=sessions)
