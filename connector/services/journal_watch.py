"""Following a job that another process runs, by reading its journal.

A runner (one the app started for a job, or a `sync` / `disconnect` typed in another
terminal) sends this process no events: the journal row
(step, done, total, state), the activity table and the runner lock are all there is.
`JournalWatch.poll()` turns what changed since the last poll into the `connector.events`
a `JobProgress` draws, and tells when the job ended and how (`ended`).

No Textual here (an engine read service): the App owns the timer that calls `poll()` and
decides what an end means.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass
from typing import Any

from connector.engine import MIRAKL, WOOCOMMERCE, Engine
from connector.events import Activity, Event, Progress
from connector.jobs import is_runner_active
from connector.services.background import open_job
from connector.services.disconnect import BATCH_SIZE, Receipt, schedule_line
from connector.services.runner import Runner
from connector.store import Store

#: How `JournalWatch.ended` reads: the data folder is gone (a disconnect finished), the job
#: finished, or it stopped part-way (resumable, `interrupted` or `failed`).
GONE, DONE, INTERRUPTED, FAILED = "gone", "done", "interrupted", "failed"

# Activity lines shown when the watch starts, for context.
_CONTEXT_LINES = 5
# Polls to wait, once the data folder is gone, for a spawned runner to exit.
_GONE_GRACE_POLLS = 10


@dataclass(frozen=True)
class RunnerReceipt(Receipt):
    """The receipt of a disconnect another process finished, built from what this process
    saw: the option and count from the journal, the key and store read from the accounts
    before the data folder went away. The runner's own receipt never reaches this process.
    """

    runner_pid: int | None = None
    spawned: bool = False  # True: a runner this app started

    def lines(self) -> list[str]:
        who = "the background runner" if self.spawned else "another mirakl-woo process"
        if self.runner_pid:
            who += f" (pid {self.runner_pid})"
        return [*super().lines(), f"The disconnect was finished by {who}."]


def spawned_runner_alive(pid: int) -> tuple[bool, int | None]:
    """(alive, exit code) of a runner this process started. Reaps it when it has exited, so
    no zombie is left behind; the exit code is None when it was reaped elsewhere."""
    try:
        found, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not (or no longer) our child: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False, None
        except PermissionError:
            return True, None
        return True, None
    if found == 0:
        return True, None
    return False, os.waitstatus_to_exitcode(status)


def later_sync_finished(store: Store, params: dict[str, Any]) -> bool:
    """True when the unfinished sync whose journal `params` these are was overtaken by a
    later pass that finished.

    A sync pass never closes the journal row of an earlier interrupted pass, and `open_job`
    returns the newest unfinished row: when that row is older than the last pass started
    (`sync_pass`) and no process holds the lock, every later pass is closed, i.e. done.
    """
    passes = int(store.get_setting("sync_pass", 0) or 0)
    return int(params.get("pass", 0) or 0) < passes and not is_runner_active(store)


class JournalWatch:
    """Polls the journal of one job run by another process (see the module docstring).

    `runner` is the runner this process started (None when someone else started the job): a
    new runner needs a moment before it takes the lock and journals its job, and how it ended
    tells about a job it finished (or refused) before the first poll.

    `pending`: the runner was just started and has no journal row yet; the watch waits for
    the first row of `kind` newer than `job["id"]` (the newest row there was).
    """

    def __init__(
        self,
        engine: Engine,
        job: dict[str, Any],
        *,
        runner: Runner | None = None,
        context: bool = True,
        pending: bool = False,
    ) -> None:
        """`context`: the first poll also shows the latest activity lines of this job."""
        self.engine = engine
        self.kind: str = job["kind"]
        self.job_id: int = int(job["id"])
        self.option: str | None = (job.get("params") or {}).get("option")
        self.runner = runner
        self.pid = runner.pid if runner is not None else None
        self.pending = pending
        self.step: str | None = job.get("step")
        self.done: int = int(job.get("done") or 0)
        self.total: int = int(job.get("total") or 0)
        self.state: str = job.get("state") or "running"
        self.error: str | None = job.get("error")
        self.runner_active = bool(job.get("runner_active"))
        self.ended: str | None = None
        self.seen_pid: int | None = None
        self._gone_polls = 0
        self._facts = self._read_facts()
        self._context = context
        store = engine.peek_store()
        row = store.job(self.job_id) if store is not None else None
        self._since = row.created_at if row is not None else ""
        self._activity: list[tuple[str, str, str]] | None = None
        self._drawn: tuple[Any, ...] | None = None
        self._rate_origin: tuple[float, int] | None = None

    # what the merchant keeps ------------------------------------------------------------

    def _read_facts(self) -> dict[str, Any]:
        """The key, the store and the schedule of the receipt, read while the accounts
        still exist."""
        from connector.services import schedule

        store = self.engine.peek_store()
        woo = store.account(WOOCOMMERCE) if store else None
        mirakl = store.account(MIRAKL) if store else None
        return {
            "key_last7": woo.details.get("key_last7") if woo else None,
            "store_url": woo.details.get("url") if woo else None,
            "company": mirakl.details.get("company_name") if mirakl else None,
            "schedule": schedule_line(self.engine, schedule.installed(self.engine))
            if self.kind == "disconnect"
            else None,
        }

    def receipt(self) -> RunnerReceipt:
        """What to show once the data folder is gone. The runner wipes the folder only after
        its catalog step went through every linked product, so all `total` were changed."""
        option = self.option or "keep"
        return RunnerReceipt(
            option=option,
            changed=0 if option == "keep" else max(self.done, self.total),
            runner_pid=self.runner_pid(),
            spawned=self.runner is not None,
            **self._facts,
        )

    def runner_pid(self) -> int | None:
        """The pid of the process working on the job, as far as this process knows it."""
        if self.pid is not None:
            return self.pid
        return self.seen_pid

    # polling ----------------------------------------------------------------------------

    def poll(self) -> list[Event]:
        """Read the journal once; the events to draw. Sets `ended` when the job is over."""
        if self.ended is not None:
            return []
        if not self.engine.settings.db_path.exists():
            # The runner wiped the data folder: drop our cached connection to the old file.
            self.engine.close()
            self._gone_polls += 1
            if self._spawned_running() and self._gone_polls < _GONE_GRACE_POLLS:
                return []  # it exits right after the wipe: reap it, leave no zombie behind
            self.ended = GONE
            self._remove_lock_litter()
            return []
        info = open_job(self.engine)
        store = self.engine.peek_store()
        if store is None:  # wiped between the two reads: the next poll says so
            return []
        if self.pending:
            newest = store.newest_job(self.kind)
            if newest is None or newest.id <= self.job_id:
                return self._pending_events(store)
            self.job_id, self.pending = newest.id, False
        elif info is not None and info["kind"] == self.kind and info["id"] > self.job_id:
            # A resumed sync is a new pass with a journal row of its own.
            self.job_id = int(info["id"])
        job = store.job(self.job_id)
        if job is None:
            return []
        active = info["runner_active"] if info is not None else is_runner_active(store)
        if active:
            pid = store.get_setting("runner_pid")
            if pid and int(pid) != os.getpid():
                self.seen_pid = int(pid)
        self.runner_active = active
        self.step, self.done, self.total = job.step, job.done, job.total
        self.state, self.error = job.state, job.error
        events = self._progress_events(store)
        if job.state == "done":
            self.ended = DONE
        elif active or self._spawned_running():
            pass  # working, or a spawned runner not holding the lock yet (or any more)
        elif self.kind == "sync" and later_sync_finished(store, job.params):
            self.ended = DONE
        elif job.state in ("interrupted", "failed"):
            self.ended = job.state
        # "running" with nobody holding the lock: the next open_job settles it as interrupted
        return events

    def _remove_lock_litter(self) -> None:
        """Checking the runner lock re-creates the data folder (filelock makes the lock
        file's parent) if a poll met the wipe half-way: take that empty folder away again."""
        home = self.engine.settings.home
        lock = home / "runner.lock"
        with contextlib.suppress(OSError):
            if {entry.name for entry in home.iterdir()} == {lock.name}:
                lock.unlink()
                home.rmdir()

    def _pending_events(self, store: Store) -> list[Event]:
        """Before the runner journals its job: its activity lines, and how it ended if it
        ended without a job (refused, or nothing to do)."""
        events = self._progress_events(store)
        if not self._spawned_running():
            failure = self.runner.failure if self.runner is not None else None
            if failure:
                self.state, self.error, self.ended = FAILED, failure, FAILED
            else:
                self.state, self.ended = "done", DONE
        return events

    @property
    def exit_code(self) -> int | None:
        return self.runner.exit_code if self.runner is not None else None

    def reap(self) -> bool:
        """True once the runner this app started (if any) has exited (and was reaped)."""
        return not self._spawned_running()

    def _spawned_running(self) -> bool:
        return self.runner is not None and self.runner.alive()

    def _progress_events(self, store: Any) -> list[Event]:
        events: list[Event] = []
        rows = store.recent_activity(20)
        if self._activity is None:  # the first poll: a few lines of this job's past, if asked
            new = [r for r in rows[:_CONTEXT_LINES] if r[0] >= self._since] if self._context else []
        else:
            last = self._activity[0] if self._activity else None
            new = rows if last is None or last not in rows else rows[: rows.index(last)]
        self._activity = rows
        for _at, level, message in reversed(new):
            events.append(Activity(message, level))
        drawn = (self.done, self.total, self.step, self.state, self.runner_active)
        if drawn != self._drawn:
            previous = self._drawn
            self._drawn = drawn
            if previous is not None and self.done > previous[0] and self.total:
                verb = "read" if self.kind == "sync" else "done"
                events.append(Activity(f"{self.done:,} of {self.total:,} products {verb}."))
            events.append(Progress(self.kind, self.step_text(), self.done, self.total, self.eta()))
        return events

    def step_text(self) -> str:
        if not self.runner_active and self.state != "running":
            if self.runner is not None:
                return "starting" if self.pid is None else "starting the runner"
            return self.step or "stopped"
        if self.runner is not None:  # ours: its own words ("reading WooCommerce", …)
            return self.step or "working"
        if self.kind == "sync":
            return "syncing in another process"
        return f"{self.step or 'working'} in another process"

    def eta(self) -> float | None:
        """Seconds left, from the journal alone (None while it cannot tell)."""
        remaining = max(0, self.total - self.done)
        if self.kind == "disconnect":
            if not self.total:
                return None
            if self.option == "keep":
                return 0.0
            return math.ceil(remaining / BATCH_SIZE) * self.engine.settings.min_interval
        now = time.monotonic()
        if self._rate_origin is None or self.done < self._rate_origin[1]:
            self._rate_origin = (now, self.done)
            return None
        origin_time, origin_done = self._rate_origin
        if self.done == origin_done or not self.total:
            return None
        return remaining * (now - origin_time) / (self.done - origin_done)
