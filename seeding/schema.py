"""What the seeder knows of the two tables: their keys, their known fields, the seeded prefixes."""

from dataclasses import dataclass

CHANNEL_PREFIX = "mock-user-id-"
SESSION_PREFIX = "mock-stream-id-"

CHANNEL_KEY = ("id",)
SESSION_KEY = ("channelArn", "id")

# The names the platform's web client has pictures and palettes for.
AVATARS = (
    "bear",
    "bird",
    "bird2",
    "dog",
    "dog2",
    "dog3",
    "giraffe",
    "hedgehog",
    "hippo",
    "horse",
    "ibex",
    "jellyfish",
    "sheep",
    "tiger",
)
COLORS = ("blue", "green", "lavender", "purple", "salmon", "turquoise", "yellow")

STATE_CHANGE = "IVS Stream State Change"


PARTITION_KEY_BYTES = 2048
SORT_KEY_BYTES = 1024


@dataclass(frozen=True)
class Field:
    """A field the platform gives meaning to.

    Args:
        key: part of the table's primary key: required and never empty.
        indexed: a key of one of the table's indexes: never empty when present.
        max_bytes: DynamoDB's size limit for the field as a partition or sort key.
        timestamp: a UTC time such as 2026-01-31T18:00:00.000Z when not empty.
    """

    kind: type
    key: bool = False
    indexed: bool = False
    required: bool = False
    max_bytes: int | None = None
    timestamp: bool = False


_PARTITION = PARTITION_KEY_BYTES
_SORT = SORT_KEY_BYTES

CHANNEL_FIELDS = {
    "id": Field(str, key=True, max_bytes=_PARTITION),
    "username": Field(str, indexed=True, max_bytes=_PARTITION),
    "email": Field(str, indexed=True, max_bytes=_PARTITION),
    "channelArn": Field(str, indexed=True, max_bytes=_PARTITION),
    "channelAssetId": Field(str, indexed=True, max_bytes=_PARTITION),
    "channelAssets": Field(dict),
    "avatar": Field(str),
    "color": Field(str),
    "chatRoomArn": Field(str),
    "ingestEndpoint": Field(str),
    "playbackUrl": Field(str),
    "streamKeyArn": Field(str),
    "streamKeyValue": Field(str),
}

SESSION_FIELDS = {
    "channelArn": Field(str, key=True, max_bytes=_PARTITION),
    "id": Field(str, key=True, max_bytes=_SORT),
    "startTime": Field(str, indexed=True, required=True, max_bytes=_SORT, timestamp=True),
    "endTime": Field(str, timestamp=True),
    "isOpen": Field(str, indexed=True, max_bytes=_SORT),
    "isHealthy": Field(bool),
    "hasErrorEvent": Field(bool),
    "userSub": Field(str),
    "truncatedEvents": Field(list),
}
# What the stream events handler keeps for itself on a session's row.
HANDLER_FIELDS = ("stateVersion", "endEventTime", "healthEvent")
