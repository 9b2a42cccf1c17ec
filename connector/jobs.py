"""Long work as journaled jobs: one runner per data folder, interrupted jobs found again."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from connector.errors import ConnectorError
from connector.store import Job, Store

LOCK_NAME = "runner.lock"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class JobBusy(ConnectorError):
    """Another process runs a job on this data folder right now."""

    exit_code = 1


class DataFolderGone(ConnectorError):
    """A disconnect wiped the data folder while this command was starting."""

    exit_code = 1


def _gone(home: Path) -> DataFolderGone:
    return DataFolderGone(
        f"The data folder {home} was just deleted by a disconnect; nothing was done.",
        "Connect the accounts again to start afresh.",
    )


@contextmanager
def runner_lock(store: Store) -> Iterator[None]:
    """Held while a job runs. filelock (not a hand-made pid file): the OS drops the lock
    when the process dies, so a kill -9 never leaves the folder locked.

    Never brings a wiped data folder back: the lock file is only created in a folder that
    exists next to its database, and a lock won on a folder a disconnect wiped meanwhile (the
    wipe unlinks the database, then the lock file, while it holds the lock) is given back
    and its file removed again."""
    from filelock import FileLock, Timeout  # off the path to the app's first frame

    assert store.path is not None
    home = store.path.parent
    lock_path = home / LOCK_NAME
    if not store.path.exists():
        raise _gone(home)
    if _create_lock_file(lock_path) is None:
        raise _gone(home)
    folder = _identity(home)
    lock = FileLock(str(lock_path), mode=0o600)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise JobBusy(
            "Another mirakl-woo process is running a job on this data folder.",
            "Wait for it to finish, or see its progress with `mirakl-woo status`.",
        ) from None
    try:
        if not store.path.exists() or not _holds_linked(lock, lock_path):
            if _holds_linked(lock, lock_path):
                lock_path.unlink(missing_ok=True)  # on a folder being wiped: take it away again
            if _identity(home) != folder:  # filelock made the folder again: take it away too
                with contextlib.suppress(OSError):
                    home.rmdir()
            raise _gone(home)
        store.set_setting("runner_pid", os.getpid())
        yield
    finally:
        lock.release()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _create_lock_file(path: Path) -> bool | None:
    """Create the lock file (0600) unless it exists: True if made here, False if it was
    there, None if the folder is gone (no folder is ever created for it)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
    except FileExistsError:
        return False
    except FileNotFoundError:
        return None
    os.close(fd)
    return True


def _holds_linked(lock: object, path: Path) -> bool:
    """The file whose lock we hold is still the one at `path` (the wipe did not unlink it)."""
    fd = getattr(getattr(lock, "_context", None), "lock_file_fd", None)
    try:
        here = os.stat(path)
    except OSError:
        return False
    if not isinstance(fd, int):
        return True  # a filelock without that detail: the path at least exists
    held = os.fstat(fd)
    return held.st_nlink > 0 and (held.st_dev, held.st_ino) == (here.st_dev, here.st_ino)


def lock_held(home: Path) -> bool:
    """True while some process holds the runner lock of `home`. Only looks: never creates the
    lock file nor the folder (a missing lock file means no runner)."""
    path = home / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except OSError:
        return False
    try:
        try:
            import fcntl
        except ImportError:  # no flock here: ask filelock, on a file that exists
            return _held_by_filelock(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return _held_by_filelock(path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _held_by_filelock(path: Path) -> bool:
    from filelock import FileLock, Timeout

    lock = FileLock(str(path), mode=0o600)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


def is_runner_active(store: Store) -> bool:
    """True while some process holds the runner lock. Never creates anything: checking a
    data folder a disconnect is wiping must not bring its folder or lock file back."""
    assert store.path is not None
    return lock_held(store.path.parent)


def job_summary(job: Job) -> dict[str, object]:
    """The JSON-ready view of a journal row, as `status` and `jobs` print it."""
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "step": job.step,
        "done": job.done,
        "total": job.total,
        "params": job.params,
        "error": job.error,
        "updated_at": job.updated_at,
    }


def settle_dead_jobs(store: Store, kind: str | None = None) -> Job | None:
    """Jobs still marked running while nobody holds the lock were interrupted (kill -9, a
    dropped SSH session): say so in the journal. Returns the open job (of `kind`), if any."""
    job = store.open_job()
    if job is not None and job.state == "running" and not is_runner_active(store):
        store.interrupt_running_jobs()
    return store.open_job(kind)


def journal_stop(store: Store, job_id: int, what: str, error: BaseException) -> None:
    """Record why a job stopped: a failure with its reason, or an interruption to resume."""
    if isinstance(error, Exception):
        store.update_job(job_id, state="failed", error=str(error)[:500])
        store.log_activity(f"{what} stopped: {error}", "error")
    else:
        store.update_job(job_id, state="interrupted", error=None)
        store.log_activity(f"{what} interrupted; it resumes where it stopped.", "warning")


def stop_runner(store: Store) -> bool:
    """Ask the process running a job to stop (SIGTERM): it journals where it is and exits,
    resumable. False when no runner is active."""
    import signal

    pid = store.get_setting("runner_pid")
    if not pid or int(pid) == os.getpid() or not is_runner_active(store):
        return False
    try:
        os.kill(int(pid), signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True
