"""Writes and deletes rows with BatchWriteItem: 25 requests a call, a few calls at once."""

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from boto3.dynamodb.types import TypeSerializer

BATCH_SIZE = 25

_serializer = TypeSerializer()


def _low_level(values: dict) -> dict:
    return {name: _serializer.serialize(value) for name, value in values.items()}


@dataclass(frozen=True)
class Change:
    """One put or delete of one row, with its key kept for reports."""

    table: str
    key: dict
    request: dict

    @classmethod
    def put(cls, table: str, row: dict, key_names: tuple[str, ...]) -> "Change":
        """Write `row` whole."""
        key = {name: row[name] for name in key_names}
        return cls(table, key, {"PutRequest": {"Item": _low_level(row)}})

    @classmethod
    def delete(cls, table: str, key: dict) -> "Change":
        """Remove the row with this key."""
        return cls(table, key, {"DeleteRequest": {"Key": _low_level(key)}})


@dataclass
class Outcome:
    """What a run wrote, per table, and what it could not."""

    done: Counter = field(default_factory=Counter)
    failed: list[Change] = field(default_factory=list)
    calls: int = 0


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, for items DynamoDB hands back unprocessed."""

    attempts: int = 8
    base: float = 0.05
    cap: float = 2.0

    def delay(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number `retry` (0 for the first)."""
        return rng.uniform(0, min(self.cap, self.base * 2**retry))


class BatchWriter:
    """Sends changes in batches of 25, a few batches in parallel, retrying unprocessed items.

    Args:
        client: a low-level DynamoDB client; botocore's retry mode handles throttled calls.
        on_progress: called with the number of changes each finished call settled.
    """

    def __init__(
        self,
        client,
        workers: int = 4,
        backoff: Backoff = Backoff(),
        on_progress: Callable[[int], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._client = client
        self._workers = workers
        self._backoff = backoff
        self._on_progress = on_progress or (lambda count: None)
        self._sleep = sleep
        self._random = random.Random()
        self._lock = threading.Lock()

    def run(self, changes: Iterable[Change]) -> Outcome:
        """Apply every change; return what was done and what still failed after the retries."""
        changes = list(changes)
        batches = [changes[i : i + BATCH_SIZE] for i in range(0, len(changes), BATCH_SIZE)]
        outcome = Outcome()
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            futures = [pool.submit(self._write, batch, outcome) for batch in batches]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return outcome

    def _write(self, batch: list[Change], outcome: Outcome) -> None:
        pending = batch
        for retry in range(self._backoff.attempts):
            if retry:
                self._sleep(self._backoff.delay(retry - 1, self._random))
            request_items: dict[str, list] = {}
            for change in pending:
                request_items.setdefault(change.table, []).append(change.request)
            response = self._client.batch_write_item(RequestItems=request_items)

            left = _unprocessed(pending, response.get("UnprocessedItems") or {})
            self._settle(outcome, [c for c in pending if c not in left], calls=1)
            pending = left
            if not pending:
                return
        with self._lock:
            outcome.failed.extend(pending)

    def _settle(self, outcome: Outcome, done: list[Change], calls: int) -> None:
        with self._lock:
            outcome.calls += calls
            outcome.done.update(change.table for change in done)
        self._on_progress(len(done))


def _unprocessed(sent: list[Change], unprocessed: dict[str, list]) -> list[Change]:
    """The changes of `sent` that DynamoDB handed back."""
    returned = {
        (table, _freeze(request)) for table, requests in unprocessed.items() for request in requests
    }
    return [change for change in sent if (change.table, _freeze(change.request)) in returned]


def _freeze(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value
