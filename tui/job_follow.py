"""Following jobs: the part of the App that starts a runner for every job and renders what
the journal says about it (a runner this app started, or another process's).

A mixin of `MiraklWooApp`: it holds the one job being followed (`job_watch`) and what it
reported so far (`sync_events`, `watched_events`, replayed into a screen opened later), and
answers what the screens and keys ask (`background_kind`, `job_blocks`, `sync_running`).
No job work happens in this process: the runner does it, and says so in the journal.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from textual.app import App
from textual.timer import Timer
from textual.widget import Widget

from connector.services.background import open_job
from tui.messages import Disconnected

if TYPE_CHECKING:
    from connector.engine import Engine
    from connector.events import Event
    from connector.services.journal_watch import JournalWatch
    from connector.services.runner import Runner
    from tui.widgets.job_controls import JobControls
    from tui.widgets.job_progress import JobProgress

log = logging.getLogger(__name__)

#: The id of the JobProgress that shows the sync on any screen that has one.
SYNC_PROGRESS_ID = "sync-progress"
#: The id of the Account screen's JobProgress (the disconnect).
DISCONNECT_PROGRESS_ID = "disconnect-progress"
SYNC_TITLE = "Sync: WooCommerce → Mirakl Connect"
# Activity lines kept for a screen that opens while a sync runs.
_REPLAY_LINES = 200


class JobFollowing(App[None]):
    """Starting jobs in runners and following them in the journal (see the module docstring)."""

    engine: Engine
    demo: dict[str, str] | None
    showing: Callable[[], bool]  # the App's: a screen is up and it is not exiting

    def init_job_following(self) -> None:
        # What the running (or last) sync reported, replayed into a screen opened meanwhile.
        self.sync_events: list[Event] = []
        self.last_sync_report: Any | None = None
        # The job being followed: run by a runner this app started, or by another process.
        self.job_watch: JournalWatch | None = None
        self.poll_interval = 0.5
        self._watch_timer: Timer | None = None
        self.watched_events: list[Event] = []  # the watched disconnect, for a screen opened later
        # The unfinished job nobody works on (what "b" resumes in the background).
        self.resumable: dict[str, Any] | None = None

    def job_blocks(self, action: str) -> str:
        """Why `action` (sync, disconnect) cannot start now, or "" when it can."""
        kind = self.background_kind()
        if kind is not None and self.own_runner() is not None:
            if kind == action:
                return f"A {kind} is running already: its progress is shown."
            return f"A {kind} is running: {action.capitalize()} waits until it ends (or stop it)."
        if kind is not None:
            return (
                f"A {kind} runs in another process: {action.capitalize()} waits until it "
                "ends (its progress is shown)."
            )
        return ""

    async def stop_own_jobs(self) -> None:
        """Stop the runner this app started (it journals where it is: resumable) and wait,
        bounded, until it has ended."""
        runner = self.own_runner()
        if runner is not None and runner.stop():
            await self._runner_ended(runner)

    @staticmethod
    async def _runner_ended(runner: Runner, seconds: float = 30.0) -> None:
        """Wait (bounded) until a runner asked to stop has journaled where it is and ended."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while runner.alive() and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if runner.alive():
            log.warning("the runner (pid %s) did not stop within %s s", runner.pid, seconds)

    # sync ------------------------------------------------------------------------------

    @property
    def sync_running(self) -> bool:
        """A sync this app started is running (in its runner)."""
        watch = self.job_watch
        return (
            watch is not None and watch.kind == "sync" and watch.ended is None
            and watch.runner is not None
        )

    def start_sync(self) -> Runner | None:
        """Start one sync pass in a runner and show its progress from the journal; None if a
        job runs already (or the runner could not start)."""
        return self.start_job("sync")

    def start_job(self, kind: str, option: str | None = None) -> Runner | None:
        """Start job `kind` (sync, or disconnect with its option) in a runner and follow it
        in the journal. An unfinished disconnect is resumed in its own journal row; a sync
        pass always journals a new one."""
        if self.background_kind() is not None:
            return None
        store = self.engine.peek_store()
        if store is None:
            return None
        unfinished = store.open_job(kind) if kind == "disconnect" else None
        newest = store.newest_job(kind)
        runner = self.launch(kind, option)
        if runner is None:
            return None
        if unfinished is not None:
            from connector.jobs import job_summary

            self.start_watch(job_summary(unfinished), runner=runner)
        else:
            job = {
                "kind": kind,
                "id": newest.id if newest is not None else 0,
                "state": "running",
                "params": {"option": option} if option else {},
            }
            self.start_watch(job, runner=runner, pending=True)
        return runner

    def launch(self, kind: str, option: str | None = None) -> Runner | None:
        """Start the runner of job `kind`; says why in one line when it cannot start."""
        from connector.services.runner import start_runner

        try:
            runner = start_runner(self.engine, kind, option)
        except OSError as error:
            log.error("could not start a runner", exc_info=error)
            self.notify(
                f"Could not start the {kind}: {error.strerror or error}.",
                title="Not started",
                severity="error",
                markup=False,
            )
            return None
        log.info("%s runner started: pid %s", kind, runner.pid)
        return runner

    def own_runner(self) -> Runner | None:
        """The runner this app started, while the job it runs is watched."""
        watch = self.job_watch
        if watch is None or watch.ended is not None:
            return None
        return watch.runner

    def own_job_kind(self) -> str | None:
        """The kind of job this app started and that runs now (in its runner)."""
        watch = self.job_watch
        return watch.kind if watch is not None and self.own_runner() is not None else None

    def _refresh_screen(self) -> None:
        screen = self.screen
        if not screen.is_mounted:  # still composing: it reads the state once shown
            return
        refresher: Callable[[], object] | None = getattr(screen, "refresh_state", None)
        if refresher is not None:
            refresher()

    def _sync_widgets(self) -> list[JobProgress]:
        # By the type's name: its module is loaded only after the first frame.
        selector = f"JobProgress#{SYNC_PROGRESS_ID}"
        return [
            cast("JobProgress", progress)
            for screen in self.job_screens()
            for progress in screen.query(selector)
        ]

    def _on_sync_event(self, event: Event) -> None:
        self._on_watch_events("sync", [event])

    @staticmethod
    def _remember(event: Event, events: list[Event]) -> None:
        # Events arrive once a job runs: their module is not on the first frame's path.
        from connector.events import Activity, Progress, Waiting

        if isinstance(event, (Progress, Waiting)):
            # Only the latest of each kind matters for a replay.
            events[:] = [e for e in events if type(e) is not type(event)]
        events.append(event)
        activities = [e for e in events if isinstance(e, Activity)]
        if len(activities) > _REPLAY_LINES:
            drop = set(map(id, activities[: len(activities) - _REPLAY_LINES]))
            events[:] = [e for e in events if id(e) not in drop]

    def attach_sync_view(self, view: Widget) -> None:
        """A view with the sync's `#sync-progress` and `#sync-controls` shows this sync."""
        from tui.widgets.job_controls import JobControls
        from tui.widgets.job_progress import JobProgress

        self.attach_job_view(
            "sync",
            view.query_one(f"#{SYNC_PROGRESS_ID}", JobProgress),
            view.query_one("#sync-controls", JobControls),
        )
        self.refresh_bindings()  # `b` is offered where the sync's progress is shown

    def attach_job_view(
        self, kind: str, progress: JobProgress, controls: JobControls | None = None
    ) -> None:
        """Called by a screen mounting the progress of `kind` (sync or disconnect): notice
        a job another process runs, and show the run in progress (ours or watched), if any."""
        if self.job_watch is None:
            self.notice_background_job()
        watched = self.job_watch is not None and self.job_watch.kind == kind
        if kind == "sync":
            running = self.sync_running or watched
            events = self.sync_events
        else:
            running = watched
            events = self.watched_events if watched else []
        if controls is not None:
            self._draw_controls(controls)
        if not events and not running:
            return
        progress.start(self.watched_title() if watched else SYNC_TITLE)
        progress.replay(events)
        from connector.events import Finished

        if not running and not any(isinstance(e, Finished) for e in events):
            progress.finished = True

    # jobs in another process -----------------------------------------------------------

    def background_kind(self) -> str | None:
        """The kind of job a runner (this app's, or another process) runs now."""
        if self.job_watch is not None and self.job_watch.ended is None:
            return self.job_watch.kind
        return None

    def notice_background_job(self) -> dict[str, Any] | None:
        """If another process runs a job on this data folder, start watching it."""
        if self.job_watch is not None:
            return None
        if self.engine.peek_store() is None:
            return None
        job = open_job(self.engine)
        if job is None or not job["runner_active"]:
            return None
        self.start_watch(job)
        return job

    def refresh_job_info(self) -> None:
        """Read the unfinished job nobody works on (what `b` resumes in the background)."""
        job = None
        if self.engine.peek_store() is not None and self.job_watch is None:
            job = open_job(self.engine)
        if job is not None and job["kind"] == "sync":
            from connector.services.background import stale_sync

            if stale_sync(self.engine, job):
                job = None
        self.resumable = job if job is not None and not job["runner_active"] else None
        self.refresh_bindings()

    def _can_continue_in_background(self) -> bool:
        if self.demo is not None:  # the demo's servers end with the app: a runner would fail
            return False
        if self.job_watch is not None:
            return False
        if self.resumable is None or self._navigation_locked():
            return False
        # Offered where that job is shown: a disconnect on the Account screen, a sync
        # beside the sync progress (Overview, Product settings).
        shown_by = SYNC_PROGRESS_ID if self.resumable["kind"] == "sync" else DISCONNECT_PROGRESS_ID
        return bool(self.screen.query(f"#{shown_by}"))

    async def action_continue_in_background(self) -> None:
        """Resume the unfinished job in a runner, where it goes on once the terminal is
        closed (a job this app starts runs in one from the start)."""
        if not self._can_continue_in_background():
            return
        job = open_job(self.engine) if self.engine.peek_store() is not None else None
        if job is None or job["runner_active"]:
            self.refresh_job_info()
            return
        self._spawn_runner_for(job)

    def _spawn_runner_for(self, job: dict[str, Any]) -> None:
        runner = self.launch("resume")
        if runner is None:
            self.refresh_job_info()
            self._refresh_screen()
            return
        self.start_watch(job, runner=runner)
        where = f" (pid {runner.pid})" if runner.pid is not None else ""
        self._job_note(str(job["kind"]), f"Handed to a background runner{where}.")

    def start_watch(
        self, job: dict[str, Any], *, runner: Runner | None = None, pending: bool = False
    ) -> None:
        """Show the progress of `job`, run by `runner` (which this app started) or by another
        process, read from the journal. `pending`: the runner has not journaled it yet."""
        from connector.services.journal_watch import JournalWatch  # not on the first frame's path

        self.stop_watch()
        kind = str(job["kind"])
        self.job_watch = JournalWatch(
            self.engine, job, runner=runner, context=runner is None, pending=pending
        )
        self.resumable = None
        if pending:
            for progress in self._job_progress(kind):
                if progress.screen is self.screen:
                    self.call_after_refresh(progress.scroll_visible)
        if kind == "sync":
            self.sync_events = []
        else:
            self.watched_events = []
        for progress in self._job_progress(kind):
            progress.start(self.watched_title())
        self._watch_timer = self.set_interval(self.poll_interval, self._poll_watch)
        self._poll_watch()
        self.refresh_bindings()
        self._refresh_screen()
        self.draw_job_controls()

    def stop_watch(self) -> None:
        if self._watch_timer is not None:
            self._watch_timer.stop()
            self._watch_timer = None
        self.job_watch = None

    def watched_title(self) -> str:
        watch = self.job_watch
        if watch is None or watch.kind == "sync":
            return SYNC_TITLE
        from connector.services.disconnect import OPTION_LABELS

        option = watch.option or "keep"
        return f"Disconnect: {OPTION_LABELS.get(option, option)}"

    def elsewhere_reason(self) -> str:
        """The line beside a watched job: where it runs, and why Sync/Disconnect wait."""
        watch = self.job_watch
        if watch is None:
            return ""
        job = "sync" if watch.kind == "sync" else "disconnect"
        if watch.runner is not None and watch.pid is None:
            where = f"The {job} runs in a runner task of this app."
        elif watch.pid is not None:
            where = (
                f"Running in the background (pid {watch.pid}): you can close this terminal; "
                "`mirakl-woo jobs` shows its progress."
            )
        else:
            pid = watch.runner_pid()
            who = f"Another mirakl-woo process (pid {pid})" if pid else "Another mirakl-woo process"
            where = f"{who} runs this {job}."
        return f"{where} Sync now and Disconnect wait until it ends."

    def _poll_watch(self) -> None:
        watch = self.job_watch
        if watch is None or not self.showing():
            return
        try:
            events = watch.poll()
        except (sqlite3.Error, OSError) as error:  # a file going away under a read: try again
            log.info("journal poll failed: %s", error)
            return
        if events:
            self._on_watch_events(watch.kind, events)
        if watch.ended is not None:
            self._watch_ended(watch)

    def _on_watch_events(self, kind: str, events: list[Event]) -> None:
        remembered = self.sync_events if kind == "sync" else self.watched_events
        shown_by = self._job_progress(kind)  # one walk of the screens for the whole poll
        for event in events:
            self._remember(event, remembered)
            for progress in shown_by:
                progress.handle(event)

    def _watch_ended(self, watch: JournalWatch) -> None:
        try:
            self._show_end(watch)
        finally:
            if watch.runner is not None:
                watch.runner.forget()

    def _show_end(self, watch: JournalWatch) -> None:
        self.stop_watch()
        self._reap_later(watch)
        kind = watch.kind
        if watch.ended == "gone":
            from connector.redact import setup_logging

            self.engine.close()
            setup_logging(None)  # our log file went with the folder: stop writing to it
            if kind == "disconnect":
                self.post_message(Disconnected(self._receipt_of(watch)))
            else:
                self.route()
            return
        if kind == "disconnect" and watch.runner is not None:
            self._own_disconnect_stopped(watch)
        started_here = watch.runner is not None and kind == "sync"
        if watch.ended == "done" and started_here:
            self._sync_finished(watch)
        elif watch.ended == "done":
            text = "Finished in the background." if kind == "sync" else "Finished."
            self._job_note(kind, text)
            if kind == "sync":
                self.notify("The sync finished in the background.", markup=False)
        elif started_here:
            text = f"Sync stopped: {watch.error or 'interrupted.'}"
            if not watch.pending:
                text += " The next sync continues where this one stopped."
            self._job_note(kind, text)
            if watch.ended == "failed":
                self.notify(
                    watch.error or text, title="Sync stopped", severity="error", markup=False
                )
        else:
            where = f" at {watch.done:,} of {watch.total:,} products" if watch.total else ""
            text = f"The {kind} stopped{where}"
            if watch.ended == "failed" and watch.error:
                text += f": {watch.error}"
            text += "." if watch.pending else "; it can be resumed."
            if watch.exit_code not in (None, 0, 5) and not watch.error:
                runner_out = self.engine.settings.log_dir / "runner.out"
                text += f" The runner exited with code {watch.exit_code} ({runner_out})."
            self._job_note(kind, text)
        for progress in self._job_progress(kind):
            if watch.ended == "done":
                progress.finish()
            else:
                progress.finish("stopped")
        self.refresh_job_info()
        self.refresh_accounts()
        self._refresh_screen()
        self.draw_job_controls()

    @staticmethod
    def _receipt_of(watch: JournalWatch) -> Any:
        """The runner's own receipt (what Mirakl Connect confirmed included) when this app
        started it; else the one the journal tells."""
        result = watch.runner.result() if watch.runner is not None else None
        if result is not None and result.get("kind", "disconnect") == "disconnect":
            from connector.services.disconnect import Receipt

            receipt = Receipt.from_dict(result)
            if receipt is not None:
                return receipt
        return watch.receipt()

    def _own_disconnect_stopped(self, watch: JournalWatch) -> None:
        """Tell the Account screen that started it how its disconnect stopped."""
        failure = watch.error if watch.ended == "failed" else None
        for screen in reversed(self.screen_stack):
            ended: Callable[[str | None], None] | None = getattr(screen, "disconnect_ended", None)
            if ended is not None:
                ended(failure)
                return

    def _sync_finished(self, watch: JournalWatch) -> None:
        """A sync this app started ended: its report, as the runner saved it."""
        store = self.engine.peek_store()
        last = store.get_setting("last_sync") if store is not None else None
        if not isinstance(last, dict) or watch.pending:
            return  # it ended before a pass began (e.g. Sync Product is off): its line said so
        report = {k: v for k, v in last.items() if k != "finished_at"}
        self.last_sync_report = report
        from connector.events import Finished

        self._on_sync_event(Finished("sync", report))

    def _reap_later(self, watch: JournalWatch) -> None:
        """A runner this app spawned may take a moment to exit after its job ended: reap it
        then, so it does not linger as a zombie while the app runs."""
        if watch.reap():
            return
        tries = iter(range(100))

        def again() -> None:
            if watch.reap() or next(tries, None) is None:
                timer.stop()

        timer = self.set_interval(0.2, again)

    def action_stop_job(self) -> None:
        """Ask the process running the watched job to stop: it journals where it is and
        exits; the job stays resumable."""
        from connector.jobs import stop_runner

        runner = self.own_runner()
        if runner is not None and self.job_watch is not None:
            if runner.stop():
                self._job_note(self.job_watch.kind, "Stopping: the job stays resumable…")
            else:
                self.notify("The job has ended already.", markup=False)
            return
        store = self.engine.peek_store()
        if self.job_watch is None or store is None:
            return
        pid = store.get_setting("runner_pid")
        if not self.job_watch.runner_active or pid == os.getpid():
            # A runner that has not taken the lock yet has not said who it is either.
            self.notify("The runner is still starting: try Stop again in a moment.", markup=False)
            return
        if stop_runner(store):
            self._job_note(self.job_watch.kind, f"Stopping the process (pid {pid})…")
        else:
            self.notify("No process is running a job now.", markup=False)

    def _job_progress(self, kind: str) -> list[JobProgress]:
        if kind == "sync":
            return self._sync_widgets()
        selector = f"JobProgress#{DISCONNECT_PROGRESS_ID}"
        return [cast("JobProgress", progress) for progress in self.screen.query(selector)]

    def _job_note(self, kind: str, text: str) -> None:
        from connector.events import Activity

        if kind == "sync":
            self._remember(Activity(text), self.sync_events)
        else:
            self._remember(Activity(text), self.watched_events)
        for progress in self._job_progress(kind):
            progress.note(text)

    def draw_job_controls(self) -> None:
        """Show the right buttons beside the progress on the current screen."""
        for screen in self.job_screens():
            for controls in screen.query("JobControls"):
                self._draw_controls(cast("JobControls", controls))

    def _draw_controls(self, controls: JobControls) -> None:
        if self.background_kind() is not None:
            controls.show_elsewhere(self.elsewhere_reason())
        else:
            controls.hide()
