"""Long work as journaled jobs: one runner per data folder, interrupted jobs found again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from connector.errors import ConnectorError
from connector.store import Job, Store


class JobBusy(ConnectorError):
    """Another process runs a job on this data folder right now."""

    exit_code = 1


@contextmanager
def runner_lock(store: Store) -> Iterator[None]:
    """Held while a job runs. filelock (not a hand-made pid file): the OS drops the lock
    when the process dies, so a kill -9 never leaves the folder locked."""
    from filelock import FileLock, Timeout  # off the path to the app's first frame

    assert store.path is not None
    lock = FileLock(str(store.path.parent / "runner.lock"), mode=0o600)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise JobBusy(
            "Another mirakl-woo process is running a job on this data folder.",
            "Wait for it to finish, or see its progress with `mirakl-woo status`.",
        ) from None
    try:
        import os

        store.set_setting("runner_pid", os.getpid())
        yield
    finally:
        lock.release()


def is_runner_active(store: Store) -> bool:
    """True while some process holds the runner lock."""
    from filelock import FileLock, Timeout

    assert store.path is not None
    if not store.path.parent.exists():  # wiped: checking must not create the folder again
        return False
    lock = FileLock(str(store.path.parent / "runner.lock"), mode=0o600)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


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
    import os
    import signal

    pid = store.get_setting("runner_pid")
    if not pid or int(pid) == os.getpid() or not is_runner_active(store):
        return False
    try:
        os.kill(int(pid), signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True
