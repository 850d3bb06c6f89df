"""A login registry kept in a dict: for tests, and for apps served by one
process. Records are lost when the process ends, which logs every user out.
"""

from __future__ import annotations

import dataclasses
import threading
import typing as t

from . import LoginRecord

if t.TYPE_CHECKING:
    _UserKey = tuple[str | None, str]

#: Every this many new records, the expired ones are dropped.
SWEEP_EVERY = 1024


class MemoryLoginStore:
    """A :class:`~flask_sessionauth.stores.LoginStore` in this process's
    memory, safe to share between threads.
    """

    def __init__(self) -> None:
        self._records: dict[str, LoginRecord] = {}
        self._users: dict[_UserKey, set[str]] = {}
        self._lock = threading.Lock()
        self._added = 0

    def get(self, record_id: str, now: float) -> LoginRecord | None:
        record = self._records.get(record_id)

        if record is None or record.expires_at <= now:
            return None

        return record

    def add(self, record: LoginRecord) -> bool:
        with self._lock:
            held = self._records.get(record.id)

            if held is not None and held.expires_at > record.created_at:
                return False

            self._records[record.id] = record
            self._users.setdefault((record.realm, record.user_id), set()).add(record.id)
            self._added += 1

            if self._added % SWEEP_EVERY == 0:
                self._sweep(record.created_at)

        return True

    def _sweep(self, now: float) -> None:
        # Records of users who never come back are never listed, so the
        # lazy cleanup of user_records() would never drop them.
        for record_id, record in list(self._records.items()):
            if record.expires_at <= now:
                del self._records[record_id]
                key = (record.realm, record.user_id)
                ids = self._users.get(key)

                if ids is not None:
                    ids.discard(record_id)

                    if not ids:
                        del self._users[key]

    def touch(self, record_id: str, last_seen: float, expires_at: float) -> None:
        with self._lock:
            record = self._records.get(record_id)

            # An expired record stays gone, even before it is cleaned up.
            if record is not None and record.active and record.expires_at > last_seen:
                self._records[record_id] = dataclasses.replace(
                    record, last_seen=last_seen, expires_at=expires_at
                )

    def update(self, record: LoginRecord) -> None:
        with self._lock:
            stored = self._records.get(record.id)

            # An ended record stays ended, with the reason it ended for;
            # an expired one stays gone.
            if (
                stored is None
                or not stored.active
                or (record.active and stored.expires_at <= record.last_seen)
            ):
                return

            self._records[record.id] = record

    def user_records(
        self, realm: str | None, user_id: str, now: float
    ) -> list[LoginRecord]:
        with self._lock:
            ids = self._users.get((realm, user_id), set())
            found = []

            for record_id in list(ids):
                record = self._records.get(record_id)

                if record is None or record.expires_at <= now:
                    # Lazy cleanup: a record is dropped once it has expired.
                    ids.discard(record_id)
                    self._records.pop(record_id, None)
                else:
                    found.append(record)

            if not ids:
                self._users.pop((realm, user_id), None)

            return found

    def __len__(self) -> int:
        """How many records, expired ones not yet cleaned up included."""
        return len(self._records)
