"""The Textual face of the connector: routing between screens, the sync worker, the palette,
and long work handed to (or found running in) another process."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sqlite3
from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget

from connector.engine import MIRAKL, WOOCOMMERCE, Engine
from connector.events import Activity, Event, Finished, Progress, Waiting
from connector.services.background import open_job
from connector.services.status import accounts, status
from tui import styles_cache_fix
from tui.folder_watch import FolderWatch
from tui.messages import AccountsChanged, Disconnected
from tui.screens.overview import OverviewScreen
from tui.widgets.header import AccountsHeader, accounts_line
from tui.widgets.job_controls import JobControls
from tui.widgets.job_progress import JobProgress

if TYPE_CHECKING:
    from connector.services.journal_watch import JournalWatch
    from connector.services.runner import Runner

log = logging.getLogger(__name__)

#: The id of the JobProgress that shows the sync on any screen that has one.
SYNC_PROGRESS_ID = "sync-progress"
#: The id of the Account screen's JobProgress (the disconnect).
DISCONNECT_PROGRESS_ID = "disconnect-progress"
SYNC_TITLE = "Sync: WooCommerce → Mirakl Connect"
# Activity lines kept for a screen that opens while a sync runs.
_REPLAY_LINES = 200

ELSEWHERE_DISCONNECT = (
    "Another mirakl-woo process disconnected both accounts and deleted the connector's data "
    "folder. Its receipt is in that process's output."
)

NAVIGATION = ("overview", "product_settings", "account", "sync", "disconnect")
#: Middle-aged collections between two full ones while the app runs (Python's default: 10).
FULL_COLLECTION_EVERY = 100


# The screens not needed for the first frame are imported when first shown (fast start).


def account_screen_class() -> type[Screen[Any]]:
    from tui.screens.account import AccountScreen

    return AccountScreen


def authorize_mirakl_screen(demo: dict[str, str] | None) -> Screen[Any]:
    from tui.screens.authorize_mirakl import AuthorizeMiraklScreen

    return AuthorizeMiraklScreen(demo=demo)


def authorize_woo_screen(demo: dict[str, str] | None) -> Screen[Any]:
    from tui.screens.authorize_woocommerce import AuthorizeWooScreen

    return AuthorizeWooScreen(demo=demo)


def product_settings_screen() -> Screen[Any]:
    from tui.screens.product_settings import ProductSettingsScreen

    return ProductSettingsScreen()


#: Screens built once and kept while the accounts stay connected: switching between them
#: then costs a repaint, not a rebuild (keys stay fast while a sync runs). A disconnect
#: forgets them, so nothing of the old connection survives it.
KEPT_SCREENS: dict[str, Callable[[], Screen[Any]]] = {
    "overview": OverviewScreen,
    "product_settings": product_settings_screen,
}


def pending_disconnect(engine: Engine) -> Any | None:
    """The unfinished disconnect job, if any."""
    if engine.peek_store() is None:
        return None
    from connector.services import disconnect

    return disconnect.pending(engine)


class MiraklWooApp(App[None]):
    """Connect a WooCommerce store to Mirakl Connect.

    The engine is injected (tests point its clients at the in-process sandboxes). Screens
    post `AccountsChanged` / `Disconnected`; the App decides which screen comes next. The
    Overview and Product settings are built once and kept (`KEPT_SCREENS`); every other
    screen is built fresh, and a disconnect drops the kept ones, so no state survives it.

    Screens that must not be left while they work (the disconnect) set a truthy
    `navigation_locked` attribute: the App then greys out its navigation keys and commands.
    """

    TITLE = "mirakl-woo"
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        # Before the navigation keys: shown only while they apply, and then they matter most
        # (the footer is cut at 80 columns).
        Binding(
            "b",
            "continue_in_background",
            "Background",
            tooltip="Let a background runner do this job: you can close the terminal",
        ),
        Binding("x", "stop_job", "Stop job", tooltip="Stop the job another process runs"),
        Binding("o", "overview", "Overview"),
        Binding("p", "product_settings", "Settings", tooltip="Product settings"),
        Binding("a", "account", "Account"),
        Binding("s", "sync", "Sync now"),
    ]

    def __init__(self, engine: Engine, *, demo: dict[str, str] | None = None) -> None:
        styles_cache_fix.install()
        super().__init__()
        self.engine = engine
        self.demo = demo
        # What the running (or last) sync reported, replayed into a screen opened meanwhile.
        self.sync_events: list[Event] = []
        self.last_sync_report: Any | None = None
        # A job another process runs (a runner this app started, or someone else's).
        self.job_watch: JournalWatch | None = None
        self.poll_interval = 0.5
        self.follow_interval = 0.3  # how often the data folder is asked what others did
        self._watch_timer: Timer | None = None
        self.watched_events: list[Event] = []  # the watched disconnect, for a screen opened later
        # The unfinished job nobody works on (what "b" resumes in the background).
        self.resumable: dict[str, Any] | None = None
        self._switched_from: Screen[Any] | None = None  # by the last `show`
        self.first_frame_shown = False
        self._gc_threshold: tuple[int, int, int] | None = None  # before `settle_heap`

    # routing ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        with suppress(NotImplementedError, RuntimeError):  # no signals on some platforms
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.on_sighup)
        self.route()
        self.folder_watch = FolderWatch(self.engine)
        self.set_interval(self.follow_interval, self._follow_folder)

    def _follow_folder(self) -> None:
        """Show what another process did to the data folder: a disconnect finished, an
        account authorized, a job started, a sync done."""
        try:
            change = self.folder_watch.poll()
        except OSError as error:  # a folder we may no longer enter: the next poll tells
            log.info("data folder poll failed: %s", error)
            return
        if change is None or self.job_watch is not None or self._navigation_locked():
            return  # nothing new, or a job of ours (or one being watched) says it itself
        if change == "gone":
            from connector.redact import setup_logging

            self.engine.close()
            setup_logging(None)  # our log file went with the folder
            self.post_message(Disconnected(ELSEWHERE_DISCONNECT))
            return
        if self.notice_background_job() is not None:
            return  # its progress is shown now
        if change == "appeared" or accounts_line(accounts(self.engine)) != self.sub_title:
            self.route()
            return
        self.refresh_job_info()
        self._refresh_screen()

    def on_ready(self) -> None:
        """The first frame is on the terminal: now add what it did not need."""
        self.first_frame_shown = True
        for screen in self.job_screens():
            adder: Callable[[], object] | None = getattr(screen, "add_sync_view", None)
            if adder is not None:
                adder()

    def on_sighup(self) -> None:
        """The terminal went away (SSH dropped): a job in a runner process goes on (the next
        app start shows it); a job of this process is stopped cleanly (resumable). Exit."""
        runner = self.own_runner()
        if runner is not None and runner.pid is not None and self.demo is None:
            self.call_next(self.exit)
            return
        # The demo's servers end with it, and a runner task ends with this process.
        self.call_next(self.stop_own_jobs_and_exit)

    async def action_quit(self) -> None:
        """Quit at once when idle. With a job of this app running, ask: leave it running in
        the background, or stop it (resumable). A job another process runs goes on."""
        from tui.screens.quit_modal import QuitModal

        kind = self.own_job_kind()
        if kind is None or isinstance(self.screen, QuitModal):
            await self.stop_own_jobs_and_exit()  # ctrl+q twice: stop it (resumable) and quit
            return

        self.push_screen(QuitModal(kind, background=self.demo is None), self._quit_chosen)

    async def _quit_chosen(self, choice: str | None) -> None:
        from tui.screens.quit_modal import BACKGROUND, STOP

        if choice == BACKGROUND:
            self.exit()  # a job in a runner process goes on by itself
        elif choice == STOP:
            await self.stop_own_jobs_and_exit()

    async def stop_own_jobs_and_exit(self) -> None:
        """Cancel the jobs this app runs and wait until their services have journaled them
        as interrupted (resumable), then exit. A background runner is left running."""
        await self.stop_own_jobs()
        self.exit()

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

    def on_unmount(self) -> None:
        runner = self.own_runner()
        if runner is not None and runner.pid is None:
            runner.stop()  # a runner task cannot outlive this process (a process does)
        elif runner is not None:
            runner.forget()
        with suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        if self._gc_threshold is not None:  # the garbage collector as it was
            gc.unfreeze()
            gc.set_threshold(*self._gc_threshold)
            self._gc_threshold = None

    def connected(self) -> bool:
        """Both accounts are authorized (cheap: the footer asks on every refresh)."""
        store = self.engine.peek_store()
        return (
            store is not None
            and store.account(MIRAKL) is not None
            and store.account(WOOCOMMERCE) is not None
        )

    def screen_for_state(self) -> Screen[Any]:
        """The screen the saved state calls for (a kept one, or a fresh instance): a job
        another process runs first (its progress), then an unfinished disconnect, then the
        accounts."""
        self.notice_background_job()
        running = self.background_kind()
        if running == "disconnect":
            return account_screen_class()()
        if running == "sync" and self.connected():
            return self.kept_screen("overview")
        current = status(self.engine)
        job = current["job"]  # the journal's open job; an unfinished disconnect comes first
        if job is not None and job["kind"] == "disconnect":
            return account_screen_class()()
        if current["mirakl"] is None:
            return authorize_mirakl_screen(self.demo)
        if current["woocommerce"] is None:
            return authorize_woo_screen(self.demo)
        return self.kept_screen("overview")

    def kept_screen(self, name: str) -> Screen[Any]:
        """The kept screen `name` (see `KEPT_SCREENS`), built the first time it is asked for."""
        if not self.is_screen_installed(name):
            self.install_screen(KEPT_SCREENS[name](), name)
            self.call_after_refresh(self.settle_heap)
        return self.get_screen(name)

    def settle_heap(self) -> None:
        """Move what lives from now on (the kept screens, the app) out of the garbage
        collector's sight: a full collection then scans only the objects made since, and
        stops the loop (the keys) for a few milliseconds instead of tens.

        And fewer full collections: Python starts one when what survived since the last one
        reaches a quarter of what it tracks, which, with the app frozen, a sync's pages
        reached about once a second (~30 ms of stopped loop each). Young collections still
        free the sync's short-lived cycles; a full one now waits for 100 middle-aged
        collections instead of 10. Undone on exit."""
        if self._gc_threshold is None:
            self._gc_threshold = gc.get_threshold()
            young, middle, _old = self._gc_threshold
            gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
        gc.freeze()

    def kept_screens(self) -> list[Screen[Any]]:
        return [self.get_screen(n) for n in KEPT_SCREENS if self.is_screen_installed(n)]

    def forget_kept_screens(self) -> None:
        """Drop the kept screens (after a disconnect); call once none is on the stack.

        The screen just switched away from is removed by Textual once it is uninstalled;
        the others are removed here.
        """
        for name in KEPT_SCREENS:
            if not self.is_screen_installed(name):
                continue
            screen = self.get_screen(name)
            self.uninstall_screen(name)
            if screen is not self._switched_from and screen.is_attached:
                screen.remove()
        gc.unfreeze()  # what the kept screens were can be collected now

    def job_screens(self) -> list[Screen[Any]]:
        """The screens that show a job as it runs: the current one and the kept ones."""
        screens = [self.screen]
        screens += [s for s in self.kept_screens() if s is not self.screen]
        return screens

    def show(self, screen: Screen[Any]) -> None:
        """Replace whatever is shown (modals included) with `screen`.

        The stack is always [Textual's blank default screen, our screen, (a modal)].
        """
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self._switched_from = None
        if len(self.screen_stack) == 1:
            self.push_screen(screen)
        elif screen is not self.screen:
            self._switched_from = self.screen
            self.switch_screen(screen)
        self.refresh_accounts()

    def route(self) -> None:
        """Go where the state calls for."""
        self.show(self.screen_for_state())
        self.refresh_job_info()

    def refresh_accounts(self) -> None:
        """The header's sub-title: the connected accounts."""
        self.sub_title = accounts_line(accounts(self.engine))
        for header in self.screen.query(AccountsHeader):
            header.refresh_title()

    def on_accounts_changed(self, message: AccountsChanged) -> None:
        message.stop()
        self.route()

    def on_disconnected(self, message: Disconnected) -> None:
        message.stop()
        from tui.screens.receipt import ReceiptScreen

        receipt = message.receipt
        lines = receipt.lines() if hasattr(receipt, "lines") else [str(receipt)]
        self.sync_events = []
        self.watched_events = []
        self.last_sync_report = None
        self.resumable = None
        # The receipt stays until read; then Authorize Mirakl Connect (unless the merchant
        # was taken elsewhere meanwhile, e.g. an account authorized in another terminal).
        receipt_screen = ReceiptScreen(lines, lambda: self._receipt_read(receipt_screen))
        self.show(receipt_screen)
        self.forget_kept_screens()

    def _receipt_read(self, receipt_screen: Screen[Any]) -> None:
        if self.screen is receipt_screen:
            self.route()

    # actions ---------------------------------------------------------------------------

    def _navigation_locked(self) -> bool:
        return bool(getattr(self.screen, "navigation_locked", False))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "continue_in_background":
            return self._can_continue_in_background()
        if action == "stop_job":
            return self.job_watch is not None
        if action not in NAVIGATION:
            return True
        if not self.connected():
            return False
        if self._navigation_locked():
            return None
        if action in ("sync", "disconnect") and self.job_blocks(action):
            return None  # greyed out; pressed anyway, the key says why (`on_key`)
        current = {
            "overview": "OverviewScreen",
            "product_settings": "ProductSettingsScreen",
            "account": "AccountScreen",
        }.get(action)
        # Where you are is not offered (keeps the footer short at 80 columns).
        return current is None or type(self.screen).__name__ != current

    def _allowed(self, action: str) -> bool:
        return self.check_action(action, ()) is True

    def action_overview(self) -> None:
        if self._allowed("overview"):
            self.show(self.kept_screen("overview"))

    def action_product_settings(self) -> None:
        if self._allowed("product_settings"):
            self.show(self.kept_screen("product_settings"))

    def action_account(self) -> None:
        account = account_screen_class()
        if self._allowed("account"):
            self.show(account())

    def action_disconnect(self) -> None:
        """Open the Account screen and start its Disconnect dialog."""
        account = account_screen_class()
        if not self._allowed("disconnect") or self._say_blocked("disconnect"):
            return
        screen = self.screen if isinstance(self.screen, account) else account()
        if screen is not self.screen:
            self.show(screen)
        opener: Callable[[], object] | None = getattr(screen, "action_disconnect", None)
        if opener is not None:
            self.call_after_refresh(opener)

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

    def on_key(self, event: events.Key) -> None:
        """A greyed-out Sync now / Disconnect pressed while a job runs says why it waits
        (a disabled binding runs nothing, so the key reaches here)."""
        action = {"s": "sync", "d": "disconnect"}.get(event.key)
        if action is None or not self.connected():
            return
        if action == "disconnect" and not isinstance(self.screen, account_screen_class()):
            return
        if self._say_blocked(action):
            event.stop()

    def _say_blocked(self, action: str) -> bool:
        reason = self.job_blocks(action)
        if reason:
            self.notify(reason, severity="warning", markup=False)
        return bool(reason)

    def action_sync(self) -> None:
        """Sync now. A screen may veto it first (Product settings saves its form)."""
        if not self._allowed("sync") or self._say_blocked("sync"):
            return
        if self.notice_background_job() is not None:
            self.notify(
                "Another mirakl-woo process is running a job on this data folder: its "
                "progress is shown, and Sync now waits until it ends.",
                severity="warning",
                markup=False,
            )
            return
        before: Callable[[], bool] | None = getattr(self.screen, "before_sync", None)
        if before is not None and not before():
            return
        self.start_sync()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        connected = self.connected()
        if not connected:
            current = status(self.engine)
            if current["mirakl"] is None:
                yield SystemCommand(
                    "Authorize Mirakl Connect",
                    "Enter the API client of your Mirakl Connect account",
                    lambda: self.show(authorize_mirakl_screen(self.demo)),
                )
            else:
                yield SystemCommand(
                    "Authorize WooCommerce",
                    "Enter your store URL and REST API key",
                    lambda: self.show(authorize_woo_screen(self.demo)),
                )
        submit = getattr(screen, "action_submit", None)
        if submit is not None:
            yield SystemCommand("Authorize", "Check these credentials and save them", submit)
        if connected and not self._navigation_locked():
            yield SystemCommand(
                "Overview", "Accounts, product counts, last sync, activity", self.action_overview
            )
            yield SystemCommand(
                "Product settings",
                "Sync Product toggle, statuses, stock rule, price",
                self.action_product_settings,
            )
            yield SystemCommand(
                "Account", "The connected accounts; disconnect", self.action_account
            )
            yield SystemCommand(
                "Disconnect",
                "End the connection and choose what happens to the catalog",
                self.action_disconnect,
            )
            if self._allowed("sync"):
                yield SystemCommand(
                    "Sync now", "Push WooCommerce products to Mirakl Connect", self.action_sync
                )
        if self._can_continue_in_background():
            yield SystemCommand(
                "Resume in background",
                "Finish the unfinished job in a background runner",
                self.action_continue_in_background,
            )
        if self.check_action("stop_job", ()):
            yield SystemCommand(
                "Stop the background job",
                "The runner records where it is and exits; the job can be resumed",
                self.action_stop_job,
            )
        for title, help_text, callback in getattr(screen, "palette_commands", lambda: [])():
            yield SystemCommand(title, help_text, callback)
        yield from super().get_system_commands(screen)

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
        refresher: Callable[[], object] | None = getattr(self.screen, "refresh_state", None)
        if refresher is not None:
            refresher()

    def _sync_widgets(self) -> list[JobProgress]:
        return [
            progress
            for screen in self.job_screens()
            for progress in screen.query(f"#{SYNC_PROGRESS_ID}").results(JobProgress)
        ]

    def _on_sync_event(self, event: Event) -> None:
        self._remember(event, self.sync_events)
        for progress in self._sync_widgets():
            progress.handle(event)

    @staticmethod
    def _remember(event: Event, events: list[Event]) -> None:
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
        self.attach_job_view(
            "sync",
            view.query_one(f"#{SYNC_PROGRESS_ID}", JobProgress),
            view.query_one("#sync-controls", JobControls),
        )

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
        if not running and not any(isinstance(e, Finished) for e in events):
            progress.finished = True

    # jobs in another process -----------------------------------------------------------

    def background_kind(self) -> str | None:
        """The kind of job another process runs now (or this app is handing over)."""
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
            from tui.screens.overview import stale_sync

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
        if watch is None:
            return
        try:
            events = watch.poll()
        except (sqlite3.Error, OSError) as error:  # a file going away under a read: try again
            log.info("journal poll failed: %s", error)
            return
        for event in events:
            self._on_watch_event(watch.kind, event)
        if watch.ended is not None:
            self._watch_ended(watch)

    def _on_watch_event(self, kind: str, event: Event) -> None:
        if kind == "sync":
            self._on_sync_event(event)
            return
        self._remember(event, self.watched_events)
        for progress in self._job_progress(kind):
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
        selector = f"#{DISCONNECT_PROGRESS_ID}"
        return list(self.screen.query(selector).results(JobProgress))

    def _job_note(self, kind: str, text: str) -> None:
        if kind == "sync":
            self._remember(Activity(text), self.sync_events)
        else:
            self._remember(Activity(text), self.watched_events)
        for progress in self._job_progress(kind):
            progress.note(text)

    def draw_job_controls(self) -> None:
        """Show the right buttons beside the progress on the current screen."""
        for screen in self.job_screens():
            for controls in screen.query(JobControls):
                self._draw_controls(controls)

    def _draw_controls(self, controls: JobControls) -> None:
        if self.background_kind() is not None:
            controls.show_elsewhere(self.elsewhere_reason())
        else:
            controls.hide()
