"""The disconnect's last step: the connector's own files leave the data folder, nothing else.

Removed: the secrets file (and an interrupted write's `.secrets.*.tmp`), the connector's log
files, the database (with its -wal/-shm/-journal), the runner lock; then each folder the
connector created (as recorded in the database when it made it) if it is empty then. A file
or a folder the connector did not make stays, and so does every folder holding one.

Order: secrets first, the database last. A crash in between leaves the journal (and the
record of the folders), so the next start resumes the disconnect and finishes the wipe.
The caller holds the runner lock throughout (run_disconnect does): the lock file is unlinked
while held, so releasing it afterwards creates nothing, and a process that starts meanwhile
finds the lock taken, or the database gone, and stops without creating anything.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from pathlib import Path

from connector.engine import CREATED_FOLDERS, Engine
from connector.jobs import LOCK_NAME
from connector.settings import Settings

log = logging.getLogger("connector.wipe")
_ROTATED = re.compile(r"^mirakl-woo\.log\.\d+$")
RUNNER_OUT = "runner.out"  # services/background.py: a detached runner's stdout and stderr
_SETTLE = 1.0  # seconds the last rmdir waits for a lock file a starting process takes away


def connector_files(settings: Settings) -> list[Path]:
    """Every file the connector writes in the data folder, in wipe order (secrets first, then
    logs and cache, the database; the lock file goes last of all, see wipe_data_folder),
    whether it exists or not."""
    home, logs = settings.home, settings.log_dir
    files = [settings.secrets_path]
    files += sorted(_glob(home, ".secrets.*.tmp"))
    files += [settings.log_path, logs / RUNNER_OUT]
    files += sorted(path for path in _glob(logs, "mirakl-woo.log.*") if _ROTATED.match(path.name))
    # cache_dir: nothing in the connector writes there today (grep cache_dir connector tui)
    db = settings.db_path
    files += [db.with_name(db.name + suffix) for suffix in ("-wal", "-shm", "-journal", "")]
    return files


def wipe_data_folder(engine: Engine) -> None:
    """Drop-in for the disconnect's wipe step: call it holding the runner lock, with the
    catalog step finished. Idempotent: a second call after a crash finishes the job."""
    settings = engine.settings
    created = _created_folders(engine)  # read first: the database holding it goes last
    settings.secrets_path.unlink(missing_ok=True)
    for leftover in _glob(settings.home, ".secrets.*.tmp"):
        leftover.unlink(missing_ok=True)
    from connector.redact import setup_logging

    setup_logging(None)  # our log file goes now: stop writing to it
    files = connector_files(settings)
    engine.close()
    for path in files:
        path.unlink(missing_ok=True)
    for path in files[1:]:  # a command started meanwhile may have opened a log file again
        if path.parent == settings.log_dir:
            path.unlink(missing_ok=True)
    _remove_created_folders(settings, created, ("cache", "logs"))
    # The lock file last, just before its folder: until then a process starting now finds the
    # lock taken and creates nothing (engine.DataFolderBusy, jobs.JobBusy).
    (settings.home / LOCK_NAME).unlink(missing_ok=True)
    _remove_created_folders(settings, created, ("home",))


def _created_folders(engine: Engine) -> set[str]:
    try:
        store = engine.peek_store()
        value = store.get_setting(CREATED_FOLDERS, []) if store is not None else []
    except (sqlite3.Error, OSError) as error:  # a resumed wipe meets what a crash left
        log.warning("the record of created folders is unreadable: %s", error)
        return set()
    return {str(name) for name in value} if isinstance(value, list) else set()


def _remove_created_folders(settings: Settings, created: set[str], names: tuple[str, ...]) -> None:
    """A folder the connector did not create is never removed, and one that still holds
    anything (the merchant's files) stays."""
    folders = settings.folders()
    for name in names:
        if name not in created:
            continue
        folder = folders[name]
        if folder.is_symlink():  # made by someone else since: not ours to remove
            continue
        _rmdir(folder, settle=name == "home")


def _rmdir(folder: Path, *, settle: bool) -> None:
    """rmdir if empty. For the data folder: a process starting right now may have made a
    lock file there that it removes again (jobs.runner_lock); wait for it a little."""
    deadline = time.monotonic() + (_SETTLE if settle else 0.0)
    while True:
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() >= deadline or _entries(folder) != {LOCK_NAME}:
                log.info("kept %s: it holds files that are not the connector's", folder)
                return
        time.sleep(0.02)


def _entries(folder: Path) -> set[str]:
    try:
        return {entry.name for entry in folder.iterdir()}
    except OSError:
        return set()


def _glob(folder: Path, pattern: str) -> list[Path]:
    try:
        return list(folder.glob(pattern))
    except OSError:
        return []
