"""The Textual face of the connector: routing between screens, the keys and the palette.
Jobs (starting their runners, following their journal) are `tui.job_follow`'s."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import Any, ClassVar

from textual import events
from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from connector.engine import MIRAKL, WOOCOMMERCE, Engine
from connector.services.status import accounts, open_job_kind
from tui import styles_cache_fix
from tui.folder_watch import FolderWatch
from tui.job_follow import (
    DISCONNECT_PROGRESS_ID,
    SYNC_PROGRESS_ID,
    SYNC_TITLE,
    JobFollowing,
)
from tui.messages import AccountsChanged, Disconnected
from tui.screens.overview import OverviewScreen
from tui.widgets.header import AccountsHeader, accounts_line

__all__ = ["DISCONNECT_PROGRESS_ID", "SYNC_PROGRESS_ID", "SYNC_TITLE", "MiraklWooApp"]

log = logging.getLogger(__name__)

# Between two held keys delivered to a dialog: about the fastest a person types.
_REPLAY_PACE = 0.015

ELSEWHERE_DISCONNECT = (
    "Another mirakl-woo process disconnected both accounts and deleted the connector's data "
    "folder. Its receipt is in that process's output."
)

NAVIGATION = ("overview", "product_settings", "account", "sync", "disconnect")
#: Middle-aged collections between two full ones while the app runs (Python's default: 10).
FULL_COLLECTION_EVERY = 100
#: Seconds from Ready (the first layout) to the work the first frame does not need: the
#: frame is drawn and written to the terminal meanwhile.
FIRST_FRAME_WRITE = 0.02


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


class MiraklWooApp(JobFollowing):
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
            tooltip="Resume the unfinished job in a background runner: you can close the terminal",
        ),
        Binding("x", "stop_job", "Stop job", tooltip="Stop the running job: it stays resumable"),
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
        self.init_job_following()
        self._held_keys: list[events.Key] | None = None  # see `hold_keys`
        self._replaying = False
        self._replayed: set[int] = set()
        self.follow_interval = 0.3  # how often the data folder is asked what others did
        self._switched_from: Screen[Any] | None = None  # by the last `show`
        #: `connected()`'s last answer and the database state it was read at.
        self._connected_at_stamp: tuple[tuple[int, tuple[int, int]], bool] | None = None
        self.first_frame_shown = False
        self._gc_threshold: tuple[int, int, int] | None = None  # before `settle_heap`
        self._frozen = False  # by `settle_heap` or after the first frame
        #: Started with the collector off (`tui.main` does, for a fast start): turn it on
        #: once the first frame is drawn.
        self._collect_after_first_frame = not gc.isenabled()

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
        if not self.showing():
            return
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
        """The first layout is done: add what the first frame does not need, a moment after
        it. Done at once, that work comes before the frame (8 ms of 190 at a cold start);
        and Textual writes the frame from a thread of its own, which waits for the
        interpreter's lock while this one works: idle, the loop lets it write at once."""
        self.set_timer(FIRST_FRAME_WRITE, self._after_first_frame)

    def _after_first_frame(self) -> None:
        self.first_frame_shown = True
        if self._collect_after_first_frame and not gc.isenabled():
            gc.freeze()  # what the start made lives as long as the app
            self._frozen = True
            gc.enable()
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
        the background, or stop it (resumable). A job someone else started goes on."""
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

    def on_unmount(self) -> None:
        runner = self.own_runner()
        if runner is not None and runner.pid is None:
            runner.stop()  # a runner task cannot outlive this process (a process does)
        elif runner is not None:
            runner.forget()
        with suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        if self._frozen:  # the garbage collector as it was
            gc.unfreeze()
            self._frozen = False
        if self._gc_threshold is not None:
            gc.set_threshold(*self._gc_threshold)
            self._gc_threshold = None

    def showing(self) -> bool:
        """The app has a screen up and is not on its way out (a timer may fire meanwhile)."""
        return not self._exit and bool(self._screen_stacks.get(self._current_mode))

    def connected(self) -> bool:
        """Both accounts are authorized. The footer asks for every binding on every refresh
        (a dozen times a key): read again only when the database changed."""
        store = self.engine.peek_store()
        if store is None:
            return False
        stamp = (id(store), store.stamp())
        if self._connected_at_stamp is not None and self._connected_at_stamp[0] == stamp:
            return self._connected_at_stamp[1]
        value = store.account(MIRAKL) is not None and store.account(WOOCOMMERCE) is not None
        self._connected_at_stamp = (stamp, value)
        return value

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
        if open_job_kind(self.engine) == "disconnect":  # an unfinished one comes first
            return account_screen_class()()
        current = accounts(self.engine)
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
        self._frozen = True

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
        self._frozen = False

    def job_screens(self) -> list[Screen[Any]]:
        """The screens that show a job as it runs: the current one and the kept ones."""
        screens = [self.screen]
        screens += [s for s in self.kept_screens() if s is not self.screen]
        return screens

    def show(self, screen: Screen[Any], *, reread_accounts: bool = True) -> None:
        """Replace whatever is shown (modals included) with `screen`.

        The stack is always [Textual's blank default screen, our screen, (a modal)].
        `reread_accounts=False` (a navigation key): the header shows the sub-title as it is;
        every change of the accounts sets it already (route, AccountsChanged, following the
        folder, a job's end), and a key should not wait for the accounts and secrets read.
        """
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self._switched_from = None
        if len(self.screen_stack) == 1:
            self.push_screen(screen)
        elif screen is not self.screen:
            self._switched_from = self.screen
            self.switch_screen(screen)
        if reread_accounts:
            self.refresh_accounts()
        else:
            for header in screen.query(AccountsHeader):
                header.refresh_title()

    def route(self) -> None:
        """Go where the state calls for."""
        self.show(self.screen_for_state())
        self.refresh_job_info()

    def refresh_accounts(self) -> None:
        """The header's sub-title: the connected accounts."""
        self._connected_at_stamp = None
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
            self.show(self.kept_screen("overview"), reread_accounts=False)

    def action_product_settings(self) -> None:
        if self._allowed("product_settings"):
            self.show(self.kept_screen("product_settings"), reread_accounts=False)

    def action_account(self) -> None:
        account = account_screen_class()
        if self._allowed("account"):
            self.show(account(), reread_accounts=False)

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

    # keys typed while a dialog opens ---------------------------------------------------

    def hold_keys(self, seconds: float = 1.0) -> None:
        """Keep the keys that arrive from now until `release_keys` (at most `seconds`): a
        dialog takes a frame or two to build, and keys typed in one burst after the one that
        opened it (`d`, then the option and the word) would reach the screen below."""
        if self._held_keys is None:
            self._held_keys = []
            self.set_timer(seconds, self.release_keys)

    def release_keys(self) -> None:
        """Deliver the held keys, in order, to what has the focus now: one at a time, a
        typing pace apart, so a Tab has moved the focus before the next key arrives."""
        if self._held_keys is not None and not self._replaying:
            self._replaying = True
            self.run_worker(self._replay_keys(), group="held-keys", exit_on_error=False)

    async def _replay_keys(self) -> None:
        try:
            while self._held_keys:
                key = self._held_keys.pop(0)
                self._replayed.add(id(key))
                self.post_message(key)
                await asyncio.sleep(_REPLAY_PACE)
        finally:
            self._held_keys, self._replaying = None, False
            self._replayed.clear()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            if id(event) in self._replayed:
                self._replayed.discard(id(event))
            elif self._held_keys is not None:
                self._held_keys.append(event)  # typed while held (or replayed): after them
                return
            elif self._opens_dialog(event):
                await super().on_event(event)
                self.hold_keys()  # the keys queued behind it wait for the dialog
                return
        await super().on_event(event)

    def _opens_dialog(self, event: events.Key) -> bool:
        """`d` where it opens the Disconnect dialog (the Account screen, nothing running)."""
        return (
            event.key == "d"
            and isinstance(self.screen, account_screen_class())
            and self.screen.check_action("disconnect", ()) is True
        )

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
            if accounts(self.engine)["mirakl"] is None:
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
