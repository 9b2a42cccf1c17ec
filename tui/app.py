"""The Textual face of the connector: routing between screens, the sync worker, the palette."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from connector.engine import MIRAKL, WOOCOMMERCE, Engine
from connector.errors import ConnectorError
from connector.events import Activity, Event, Finished, Progress, Waiting
from connector.services.status import status
from tui.messages import AccountsChanged, Disconnected
from tui.screens.authorize_mirakl import AuthorizeMiraklScreen
from tui.screens.authorize_woocommerce import AuthorizeWooScreen
from tui.screens.overview import OverviewScreen
from tui.screens.product_settings import ProductSettingsScreen
from tui.widgets.header import accounts_line
from tui.widgets.job_progress import JobProgress

log = logging.getLogger(__name__)

#: The id of the JobProgress that shows the sync on any screen that has one.
SYNC_PROGRESS_ID = "sync-progress"
SYNC_TITLE = "Sync: WooCommerce → Mirakl Connect"
# Activity lines kept for a screen that opens while a sync runs.
_REPLAY_LINES = 200

NAVIGATION = ("overview", "product_settings", "account", "sync", "disconnect")


def account_screen_class() -> type[Screen[Any]] | None:
    """`tui.screens.account.AccountScreen`, or None while that module does not exist."""
    try:
        from tui.screens.account import AccountScreen
    except ModuleNotFoundError as error:
        if error.name in ("tui.screens.account",):
            return None
        raise
    return AccountScreen


def pending_disconnect(engine: Engine) -> Any | None:
    """The unfinished disconnect job, if the disconnect service exists and has one."""
    if engine.peek_store() is None:
        return None
    try:
        from connector.services import disconnect
    except ImportError:
        return None
    return disconnect.pending(engine)


class MiraklWooApp(App[None]):
    """Connect a WooCommerce store to Mirakl Connect.

    The engine is injected (tests point its clients at the in-process sandboxes). Screens
    post `AccountsChanged` / `Disconnected`; the App decides which screen comes next and
    always builds a fresh instance, so no state survives a disconnect.

    Screens that must not be left while they work (the disconnect) set a truthy
    `navigation_locked` attribute: the App then greys out its navigation keys and commands.
    """

    TITLE = "mirakl-woo"
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("o", "overview", "Overview"),
        Binding("p", "product_settings", "Settings", tooltip="Product settings"),
        Binding("a", "account", "Account"),
        Binding("s", "sync", "Sync now"),
    ]

    def __init__(self, engine: Engine, *, demo: dict[str, str] | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.demo = demo
        self.sync_running = False
        # What the running (or last) sync reported, replayed into a screen opened meanwhile.
        self.sync_events: list[Event] = []
        self.last_sync_report: Any | None = None

    # routing ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        with suppress(NotImplementedError, RuntimeError):  # no signals on some platforms
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.exit)
        self.route()

    def on_unmount(self) -> None:
        with suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)

    def connected(self) -> bool:
        """Both accounts are authorized (cheap: the footer asks on every refresh)."""
        store = self.engine.peek_store()
        return (
            store is not None
            and store.account(MIRAKL) is not None
            and store.account(WOOCOMMERCE) is not None
        )

    def screen_for_state(self) -> Screen[Any]:
        """A fresh instance of the screen the saved state calls for."""
        account = account_screen_class()
        if account is not None and pending_disconnect(self.engine) is not None:
            return account()
        current = status(self.engine)
        if current["mirakl"] is None:
            return AuthorizeMiraklScreen(demo=self.demo)
        if current["woocommerce"] is None:
            return AuthorizeWooScreen(demo=self.demo)
        return OverviewScreen()

    def show(self, screen: Screen[Any]) -> None:
        """Replace whatever is shown (modals included) with `screen`.

        The stack is always [Textual's blank default screen, our screen, (a modal)].
        """
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if len(self.screen_stack) == 1:
            self.push_screen(screen)
        else:
            self.switch_screen(screen)
        self.refresh_accounts()

    def route(self) -> None:
        """Go where the state calls for."""
        self.show(self.screen_for_state())

    def refresh_accounts(self) -> None:
        """The header's sub-title: the connected accounts."""
        self.sub_title = accounts_line(status(self.engine))

    def on_accounts_changed(self, message: AccountsChanged) -> None:
        message.stop()
        self.route()

    def on_disconnected(self, message: Disconnected) -> None:
        message.stop()
        receipt = message.receipt
        lines = receipt.lines() if hasattr(receipt, "lines") else [str(receipt)]
        self.notify(
            "\n".join(lines),
            title="Disconnected",
            severity="information",
            timeout=30,
            markup=False,
        )
        self.sync_events = []
        self.last_sync_report = None
        self.show(AuthorizeMiraklScreen(demo=self.demo))

    # actions ---------------------------------------------------------------------------

    def _navigation_locked(self) -> bool:
        return bool(getattr(self.screen, "navigation_locked", False))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in NAVIGATION:
            return True
        if not self.connected():
            return False
        if self._navigation_locked():
            return None
        if action == "sync" and self.sync_running:
            return None
        current = {
            "overview": OverviewScreen,
            "product_settings": ProductSettingsScreen,
            "account": account_screen_class(),
        }.get(action)
        # Where you are is not offered (keeps the footer short at 80 columns).
        return current is None or not isinstance(self.screen, current)

    def _allowed(self, action: str) -> bool:
        return self.check_action(action, ()) is True

    def action_overview(self) -> None:
        if self._allowed("overview"):
            self.show(OverviewScreen())

    def action_product_settings(self) -> None:
        if self._allowed("product_settings"):
            self.show(ProductSettingsScreen())

    def action_account(self) -> None:
        account = account_screen_class()
        if account is None:
            self.notify("The Account screen is not available in this version.", markup=False)
            return
        if self._allowed("account"):
            self.show(account())

    def action_disconnect(self) -> None:
        """Open the Account screen and start its Disconnect dialog."""
        account = account_screen_class()
        if account is None or not self._allowed("disconnect"):
            return
        screen = self.screen if isinstance(self.screen, account) else account()
        if screen is not self.screen:
            self.show(screen)
        opener: Callable[[], object] | None = getattr(screen, "action_disconnect", None)
        if opener is not None:
            self.call_after_refresh(opener)

    def action_sync(self) -> None:
        """Sync now. A screen may veto it first (Product settings saves its form)."""
        if not self._allowed("sync"):
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
                    lambda: self.show(AuthorizeMiraklScreen(demo=self.demo)),
                )
            else:
                yield SystemCommand(
                    "Authorize WooCommerce",
                    "Enter your store URL and REST API key",
                    lambda: self.show(AuthorizeWooScreen(demo=self.demo)),
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
            if account_screen_class() is not None:
                yield SystemCommand(
                    "Account", "The connected accounts; disconnect", self.action_account
                )
                yield SystemCommand(
                    "Disconnect",
                    "End the connection and choose what happens to the catalog",
                    self.action_disconnect,
                )
            if not self.sync_running:
                yield SystemCommand(
                    "Sync now", "Push WooCommerce products to Mirakl Connect", self.action_sync
                )
        for title, help_text, callback in getattr(screen, "palette_commands", lambda: [])():
            yield SystemCommand(title, help_text, callback)
        yield from super().get_system_commands(screen)

    # sync ------------------------------------------------------------------------------

    def start_sync(self) -> Worker[Any] | None:
        """Run one sync pass in the background; None if one is running already."""
        if self.sync_running:
            return None
        self.sync_running = True
        self.refresh_bindings()
        self.sync_events = []
        for progress in self._sync_widgets():
            progress.start(SYNC_TITLE)
            self.call_after_refresh(progress.scroll_visible)
        self._refresh_screen()
        return self._sync_worker()

    def _refresh_screen(self) -> None:
        refresher: Callable[[], object] | None = getattr(self.screen, "refresh_state", None)
        if refresher is not None:
            refresher()

    @work(exclusive=True, group="sync", exit_on_error=False)
    async def _sync_worker(self) -> Any:
        from connector.services import sync

        try:
            report = await sync.run_sync(self.engine, on_event=self._on_sync_event)
        except ConnectorError as error:
            self._sync_note(f"Sync stopped: {error.one_line()}")
            self.notify(error.one_line(), title="Sync stopped", severity="error", markup=False)
            return None
        self.last_sync_report = report
        return report

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "sync" or not event.worker.is_finished:
            return
        if event.state == WorkerState.ERROR:
            log.error("sync failed", exc_info=event.worker.error)
            self._sync_note(f"Sync failed: {event.worker.error}")
            self.notify(
                f"The sync failed: {event.worker.error}",
                title="Sync failed",
                severity="error",
                markup=False,
            )
        elif event.state == WorkerState.CANCELLED:
            self._sync_note("Sync cancelled; the next run continues where it stopped.")
        for progress in self._sync_widgets():
            progress.finish()
        self.sync_running = False
        self.refresh_bindings()
        self.refresh_accounts()
        self._refresh_screen()

    def _sync_widgets(self) -> list[JobProgress]:
        return list(self.screen.query(f"#{SYNC_PROGRESS_ID}").results(JobProgress))

    def _on_sync_event(self, event: Event) -> None:
        self._remember(event)
        for progress in self._sync_widgets():
            progress.handle(event)

    def _sync_note(self, text: str) -> None:
        self._remember(Activity(text, "error"))
        for progress in self._sync_widgets():
            progress.note(text)

    def _remember(self, event: Event) -> None:
        events = self.sync_events
        if isinstance(event, (Progress, Waiting)):
            # Only the latest of each kind matters for a replay.
            events[:] = [e for e in events if type(e) is not type(event)]
        events.append(event)
        activities = [e for e in events if isinstance(e, Activity)]
        if len(activities) > _REPLAY_LINES:
            drop = set(map(id, activities[: len(activities) - _REPLAY_LINES]))
            events[:] = [e for e in events if id(e) not in drop]

    def attach_sync_progress(self, progress: JobProgress) -> None:
        """Called by a screen mounting a sync JobProgress: show the run in progress, if any."""
        if not self.sync_events and not self.sync_running:
            return
        progress.start(SYNC_TITLE)
        progress.replay(self.sync_events)
        if not self.sync_running and not any(isinstance(e, Finished) for e in self.sync_events):
            progress.finished = True
