"""Long work that outlives the terminal: find the open job, resume it, or hand it to a
detached runner process that keeps going after the SSH session ends."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connector.engine import Engine
from connector.errors import ConnectorError
from connector.jobs import is_runner_active, job_summary, settle_dead_jobs

if TYPE_CHECKING:
    from connector.events import OnEvent

#: How much lower than the app's the priority of a runner process it starts is (nice(1)).
RUNNER_NICENESS = 10


class NothingToResume(ConnectorError):
    """No interrupted or failed job in this data folder."""

    exit_code = 1


def open_job(engine: Engine) -> dict[str, Any] | None:
    """The running or unfinished job, and whether some process is working on it now."""
    store = engine.peek_store()
    if store is None:
        return None
    job = settle_dead_jobs(store)
    if job is None:
        return None
    return {**job_summary(job), "runner_active": is_runner_active(store)}


def stale_sync(engine: Engine, job: dict[str, Any]) -> bool:
    """An unfinished sync row that a later, finished pass made moot (nothing to continue)."""
    from connector.services.journal_watch import later_sync_finished

    store = engine.peek_store()
    return store is not None and later_sync_finished(store, job.get("params") or {})


def unfinished_sync(engine: Engine) -> dict[str, Any] | None:
    """The sync that stopped part-way and that nobody works on or overtook: what Sync now
    (or `jobs resume`) continues. None otherwise."""
    job = open_job(engine)
    if (
        job is None
        or job["kind"] != "sync"
        or job["runner_active"]
        or job["state"] not in ("interrupted", "failed")
        or stale_sync(engine, job)
    ):
        return None
    return job


async def resume(engine: Engine, on_event: OnEvent | None = None) -> dict[str, Any]:
    """Carry on with the open job where its journal says it stopped."""
    from connector.events import ignore  # not on the app's way to its first frame

    on_event = on_event or ignore
    job = open_job(engine)
    if job is None:
        raise NothingToResume("There is no unfinished job to resume.")
    if job["kind"] == "disconnect":
        from connector.services.disconnect import CONFIRM_WORD, run_disconnect

        # The merchant confirmed when the job was created; the journal holds the option.
        receipt = await run_disconnect(
            engine, job["params"]["option"], CONFIRM_WORD, on_event=on_event
        )
        return {"kind": "disconnect", **receipt.to_dict()}
    from connector.services.sync import run_sync

    report = await run_sync(engine, on_event=on_event)
    return {"kind": "sync", **report.to_dict()}


def runner_env(engine: Engine) -> dict[str, str]:
    """The environment that points a runner at this engine's data folder and servers."""
    settings = engine.settings
    return {
        **os.environ,
        "MIRAKL_WOO_HOME": str(settings.home),
        "MIRAKL_WOO_AUTH_URL": settings.auth_url,
        "MIRAKL_WOO_API_URL": settings.api_url,
        "MIRAKL_WOO_MIN_INTERVAL": repr(settings.min_interval),
    }


def spawn_runner(
    engine: Engine, argv: Sequence[str] = ("jobs", "resume"), *, result_file: Path | None = None
) -> int:
    """Start `mirakl-woo <argv>` (by default `jobs resume`) in a new session, detached from
    this terminal: a closed SSH session (SIGHUP to the terminal's process group) does not
    reach it. Its messages go to `runner.out` in the log folder; its standard output there
    too, or to `result_file` (created 0600) when given."""
    settings = engine.settings
    settings.ensure_home()
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    log = os.open(settings.log_dir / "runner.out", flags, 0o600)
    out = log
    try:
        if result_file is not None:
            out = os.open(result_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        process = subprocess.Popen(
            [sys.executable, "-m", "connector.cli", *argv],
            env=runner_env(engine),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        os.close(log)
        if out != log:
            os.close(out)
    # A job in the background yields the CPU to what the merchant types (the app that
    # started it shares this machine's few cores with it); it loses nothing else: its pace is
    # set by Mirakl's one call a minute, not by the CPU.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, process.pid, RUNNER_NICENESS)
    return process.pid
