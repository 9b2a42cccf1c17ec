"""Following what other processes do to the data folder, cheaply enough to ask a few times a
second: a `stat` of the database file and `PRAGMA data_version`, which changes when another
connection commits (a `sync` or `disconnect` typed in another terminal, a background runner,
a cron job).

No Textual here: the App owns the timer and decides what each change means.
"""

from __future__ import annotations

import sqlite3
from typing import Literal

from connector.engine import Engine

Change = Literal["gone", "appeared", "changed"]


class FolderWatch:
    """`poll()` says what happened since the last poll: the database went away (`gone`: a
    disconnect finished elsewhere), came (`appeared`: an account authorized elsewhere), or
    another process committed to it (`changed`); None when nothing did."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._existed = engine.settings.db_path.exists()
        # From now: a commit made before the first poll is a change too.
        self._version: int | None = self._read_version() if self._existed else None

    def poll(self) -> Change | None:
        exists = self.engine.settings.db_path.exists()
        if exists != self._existed:
            self._existed, self._version = exists, None
            if exists == self.engine.is_open:
                # This process made it (an account authorized here), or wiped it (its own
                # disconnect closes the store first): it knows already.
                return None
            return "appeared" if exists else "gone"
        if not exists:
            return None
        version = self._read_version()
        if version is None:
            return None
        changed = self._version is not None and version != self._version
        self._version = version
        return "changed" if changed else None

    def _read_version(self) -> int | None:
        store = self.engine.peek_store()
        if store is None:
            return None
        try:
            return store.data_version()
        except sqlite3.Error:  # closed or going away under us: the next poll tells
            return None
