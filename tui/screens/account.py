"""Which accounts are connected, and the one safe way out: Disconnect."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Button, Label, Static

from connector.errors import ConnectorError
from connector.services.disconnect import OPTION_LABELS
from tui.screens.disconnect_modal import (
    DisconnectModal,
    DisconnectRequest,
    format_count,
    products,
)
from tui.widgets.header import AccountsHeader
from tui.widgets.job_controls import JobControls
from tui.widgets.job_progress import JobProgress
from tui.widgets.key_footer import KeyFooter
from tui.widgets.text import show_text

if TYPE_CHECKING:
    from connector.engine import Engine
    from connector.store import Job

log = logging.getLogger(__name__)

KEY_WIDTH = 18
PERMISSIONS = {"read_write": "read/write", "read": "read only", "write": "write only"}


# -- what the panels say (pure functions, easy to test) -------------------------------------


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 string (`Z` allowed) or a POSIX timestamp; None when absent or unreadable."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(float(value), UTC)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(value: Any) -> str:
    parsed = parse_time(value)
    if parsed is None:
        return "unknown" if value in (None, "") else str(value)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def token_state(expires_at: Any, now: datetime | None = None) -> str:
    """`valid until 2025-01-01 10:00 UTC` or `expired (a new one is requested when needed)`."""
    parsed = parse_time(expires_at)
    if parsed is None:
        return "not requested yet"
    if parsed <= (now or datetime.now(UTC)):
        return "expired (a new one is requested when needed)"
    return f"valid until {format_time(parsed)}"


def mask_client_id(client_id: str | None) -> str:
    """The first 4 characters and `…`: enough to recognise it, not enough to reuse it."""
    return f"{client_id[:4]}…" if client_id else "unknown"


def mirakl_rows(account: dict[str, Any], now: datetime | None = None) -> list[tuple[str, str]]:
    seller = account.get("company_name") or account.get("seller_name") or "unknown"
    company_id = account.get("company_id")
    if company_id and company_id != seller:
        seller = f"{seller} ({company_id})"
    return [
        ("Company", seller),
        ("Client ID", mask_client_id(account.get("client_id"))),
        ("Token", token_state(account.get("token_expires_at"), now)),
        ("Connected since", format_time(account.get("connected_since"))),
    ]


def woo_rows(account: dict[str, Any]) -> list[tuple[str, str]]:
    permission = account.get("permission") or "unknown"
    key = account.get("key_last7")
    return [
        ("Store", account.get("store_name") or "unknown"),
        ("URL", account.get("url") or "unknown"),
        ("WooCommerce", str(account.get("wc_version") or "unknown")),
        (
            "API key",
            f"…{key} ({PERMISSIONS.get(permission, permission)})" if key else "unknown",
        ),
        ("Connected since", format_time(account.get("connected_since"))),
    ]


def rows_content(rows: list[tuple[str, str]]) -> Content:
    """`Key   value` lines; values are never parsed as markup (they come from servers)."""
    return Content("\n").join(
        Content.assemble((key.ljust(KEY_WIDTH), "$text-muted"), value) for key, value in rows
    )


CANCEL_LABEL = "Cancel, stay connected"


def pending_text(job: Job) -> str:
    option = OPTION_LABELS.get(str(job.params.get("option")), str(job.params.get("option")))
    if job.total:
        where = f"stopped at {format_count(job.done)} of {products(job.total)}"
    else:
        where = "stopped before it finished"
    return f"A disconnect ({option}) {where}."


# -- the screen ------------------------------------------------------------------------------


class AccountScreen(Screen[None]):
    """Both connected accounts, and Disconnect (header button, key `d`, command palette).

    The disconnect job runs in a runner the App starts (`start_job`) and follows in the
    journal, feeding `#disconnect-progress`. While it runs, `busy` (alias
    `navigation_locked`, which the App reads) is True: the keys are greyed out and the App
    does not route away. When it finished, the App shows the runner's receipt and then the
    Authorize Mirakl Connect screen; when it stopped, it calls `disconnect_ended`.

    A disconnect another process runs is followed the same way; this screen then offers
    neither Disconnect nor Resume.
    """

    DEFAULT_CSS = """
    AccountScreen {
        layout: vertical;
    }
    AccountScreen > #account-header {
        height: 3;
        background: $panel;
        padding: 0 1;
        & > Label {
            height: 3;
            content-align: left middle;
        }
        & > #account-title { width: 1fr; text-style: bold; }
        & > #disconnect { min-width: 14; }
    }
    AccountScreen > #account-body {
        height: 1fr;
        padding: 0 1;
    }
    AccountScreen .panel {
        height: auto;
        border: round $primary-muted;
        border-title-style: bold;
        padding: 0 1;
    }
    AccountScreen #pending, AccountScreen #failure {
        height: auto;
        padding: 0 1;
        display: none;
        & > Static { margin-bottom: 1; }
    }
    AccountScreen #pending { border: round $warning; }
    AccountScreen #pending-actions, AccountScreen #failure-actions {
        height: auto;
        & > Button { margin: 0 1 0 0; }
    }
    AccountScreen #failure { border: round $error; }
    AccountScreen.-pending #pending { display: block; }
    AccountScreen.-failed #failure { display: block; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "disconnect", "Disconnect"),
    ]

    busy: reactive[bool] = reactive(False, bindings=True)
    """True while the disconnect job runs: the App must not route away."""

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._engine = engine
        self._status: dict[str, Any] = {}
        self._option: str | None = None
        self._pending: Job | None = None

    @property
    def engine(self) -> Engine:
        """The engine given to the constructor, or the App's (`app.engine`)."""
        engine = self._engine or getattr(self.app, "engine", None)
        if engine is None:
            raise RuntimeError("AccountScreen needs an engine (constructor or app.engine)")
        return engine

    @property
    def navigation_locked(self) -> bool:
        """What `MiraklWooApp` checks before routing or offering navigation."""
        return self.busy

    @property
    def connected(self) -> bool:
        return bool(self._status.get("mirakl") or self._status.get("woocommerce"))

    def compose(self) -> ComposeResult:
        yield AccountsHeader()
        with Horizontal(id="account-header"):
            yield Label("Account", id="account-title")
            yield Button("Disconnect", id="disconnect", variant="error")
        with VerticalScroll(id="account-body"):
            with Vertical(id="pending"):
                yield Static("", id="pending-text", markup=False)
                with Horizontal(id="pending-actions"):
                    yield Button("Resume", id="resume", variant="warning")
                    yield Button("Resume in background", id="resume-background")
                    yield Button(CANCEL_LABEL, id="cancel-pending", classes="cancel")
            with Vertical(id="failure"):
                yield Static("", id="failure-text", markup=False)
                with Horizontal(id="failure-actions"):
                    yield Button("Retry", id="retry", variant="warning")
                    yield Button(CANCEL_LABEL, id="cancel-failed", classes="cancel")
            yield JobProgress("Disconnect", id="disconnect-progress")
            yield JobControls(id="disconnect-controls")
            mirakl = Static("", id="mirakl-panel", classes="panel")
            mirakl.border_title = "Mirakl Connect"
            yield mirakl
            woo = Static("", id="woo-panel", classes="panel")
            woo.border_title = "WooCommerce"
            yield woo
        yield KeyFooter()

    def on_mount(self) -> None:
        attach: Callable[..., None] | None = getattr(self.app, "attach_job_view", None)
        if attach is not None:  # the App shows a disconnect another process runs
            attach(
                "disconnect",
                self.query_one(JobProgress),
                self.query_one("#disconnect-controls", JobControls),
            )
        self.refresh_state()

    def _background_kind(self) -> str | None:
        """The kind of job another process runs now, as the App knows it."""
        kind: Callable[[], str | None] | None = getattr(self.app, "background_kind", None)
        return kind() if kind is not None else None

    def _draw_job_controls(self) -> None:
        draw: Callable[[], None] | None = getattr(self.app, "draw_job_controls", None)
        if draw is not None:
            draw()

    def refresh_state(self) -> None:
        """Read the accounts and any unfinished disconnect again (the App calls this too,
        e.g. when a sync ends)."""
        self.refresh_accounts()
        self._check_pending()

    # -- state ---------------------------------------------------------------------------

    def refresh_accounts(self) -> None:
        """Read `status(engine)` again and redraw both panels."""
        from connector.services.status import status

        self._status = status(self.engine)
        mirakl = self._status.get("mirakl")
        woo = self._status.get("woocommerce")
        self.query_one("#mirakl-panel", Static).update(
            rows_content(mirakl_rows(mirakl)) if mirakl else Content("Not connected.")
        )
        self.query_one("#woo-panel", Static).update(
            rows_content(woo_rows(woo)) if woo else Content("Not connected.")
        )
        self._sync_controls()

    def _check_pending(self) -> None:
        """An unfinished disconnect (from this run or an earlier process) is offered to resume."""
        from connector.services import disconnect

        self._pending = disconnect.pending(self.engine)
        if self._pending is not None:
            show_text(self.query_one("#pending-text", Static), pending_text(self._pending))
        if self._background_kind() == "disconnect":
            self.set_class(False, "-failed")
        offer = (
            self._pending is not None
            and not self.busy
            and not self.has_class("-failed")
            and self._background_kind() is None  # a runner works on it: progress instead
        )
        self.set_class(offer, "-pending")
        self._sync_controls()
        if offer:  # once the class has shown the button: a hidden widget cannot take focus
            self.call_after_refresh(self.query_one("#resume", Button).focus)

    def _sync_controls(self) -> None:
        self.query_one("#disconnect", Button).disabled = not self.check_action("disconnect", ())
        self.query_one("#resume", Button).disabled = self.busy
        self.query_one("#resume-background", Button).disabled = self.busy
        self.query_one("#retry", Button).disabled = self.busy
        for button in self.query(".cancel").results(Button):
            button.disabled = self.busy
        self.refresh_bindings()

    def watch_busy(self) -> None:
        if self.is_mounted:
            self._sync_controls()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "disconnect" and (
            self.busy
            or not self.connected
            or getattr(self.app, "sync_running", False)  # one job at a time (the App's
            or self._background_kind() is not None  # `on_key` says why when pressed)
        ):
            return None  # shown greyed out in the Footer
        return True

    def palette_commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        """(name, help, callback) the App lists in the command palette on this screen.

        "Disconnect" itself is the App's system command (it calls `action_disconnect`);
        this adds what only this screen can do.
        """
        if self.busy:
            return
        if self.has_class("-failed") and self._option is not None:
            yield ("Retry disconnect", "Continue the disconnect where it stopped", self._retry)
        elif self._pending is not None and self._background_kind() is None:
            yield ("Resume disconnect", "Finish the unfinished disconnect", self._resume)
        if self._pending is not None and self._background_kind() is None:
            yield (
                "Cancel the disconnect",
                "Stay connected; what it changed is pushed again by the next sync",
                self.cancel_disconnect,
            )

    # -- disconnect ----------------------------------------------------------------------

    def action_disconnect(self) -> None:
        """Open the Disconnect modal with the plan read from the ledger. When it does not
        open, the keys the App held for it go where they were typed, now."""
        if not self._open_disconnect_modal():
            release: Callable[[], None] | None = getattr(self.app, "release_keys", None)
            if release is not None:
                release()

    def _open_disconnect_modal(self) -> bool:
        """Push the modal, or say why not (False)."""
        blocks: Callable[[str], str] | None = getattr(self.app, "job_blocks", None)
        reason = blocks("disconnect") if blocks is not None else ""
        if reason:  # one job at a time, across processes too: the key says why
            self.notify(reason, severity="warning", markup=False)
            return False
        notice: Callable[[], object] | None = getattr(self.app, "notice_background_job", None)
        if notice is not None and notice() is not None:
            self.notify(
                "Another mirakl-woo process is running a job on this data folder: "
                "Disconnect waits until it ends.",
                severity="warning",
                markup=False,
            )
            return False
        if self._pending is not None and not self.busy and self._background_kind() is None:
            self.notify(
                "A disconnect is unfinished: resume it, or cancel it to stay connected "
                "(then another option can be chosen).",
                severity="warning",
                markup=False,
            )
            return False
        if not self.check_action("disconnect", ()):
            return False
        if self._pending is not None:  # resumed by another process meanwhile, or cancelled
            self.refresh_state()
            return False
        from connector.services import disconnect

        try:
            plan = disconnect.plan(self.engine)
        except ConnectorError as error:
            self.notify(error.one_line(), title="Cannot disconnect", severity="error", markup=False)
            return False
        self.app.push_screen(DisconnectModal(plan), self.on_disconnect_chosen)
        return True

    def on_disconnect_chosen(self, request: DisconnectRequest | None) -> None:
        """The modal's result: None changes nothing; a request starts the job."""
        if request is not None:
            self.start_disconnect(request.option)

    def start_disconnect(self, option: str) -> None:
        """Run (or resume) the disconnect with `option` in a runner the App starts and
        follows in the journal; `disconnect_ended` tells how it ended, unless it finished
        (then the App shows the receipt)."""
        start: Callable[[str, str], object] | None = getattr(self.app, "start_job", None)
        if start is None:
            raise RuntimeError("AccountScreen needs an App that runs jobs (start_job)")
        self._option = option
        self.set_class(False, "-pending")
        self.set_class(False, "-failed")
        self.busy = True
        self.query_one(JobProgress).start(f"Disconnect: {OPTION_LABELS.get(option, option)}")
        self.query_one("#account-body", VerticalScroll).scroll_home(animate=False)
        if start("disconnect", option) is None:  # it said why
            self.busy = False
            self.refresh_state()
        self._draw_job_controls()

    def disconnect_ended(self, failure: str | None) -> None:
        """The App: the disconnect this screen started stopped before it finished."""
        self.busy = False
        self._draw_job_controls()
        self._show_failure(failure)

    @on(Button.Pressed, "#disconnect")
    def _disconnect_pressed(self) -> None:
        self.action_disconnect()

    @on(Button.Pressed, "#retry")
    def _retry(self) -> None:
        if self._option is not None and not self.busy:
            self.start_disconnect(self._option)

    @on(Button.Pressed, "#resume")
    def _resume(self) -> None:
        if self._pending is not None and not self.busy and self._background_kind() is None:
            self.start_disconnect(str(self._pending.params["option"]))

    @on(Button.Pressed, ".cancel")
    def cancel_disconnect(self) -> None:
        """Call the unfinished disconnect off: both accounts stay; what it changed on Mirakl
        Connect goes back with the next sync."""
        if self.busy or self._background_kind() is not None:
            return
        from connector.services.cancel import cancel_job

        try:
            result = cancel_job(self.engine)
        except ConnectorError as error:
            self.notify(error.one_line(), title="Not cancelled", severity="error", markup=False)
            return
        self._option = None
        self.set_class(False, "-failed")
        self.query_one(JobProgress).display = False
        if result is not None:
            self.notify("\n".join(result.lines()), title="Disconnect cancelled", markup=False)
        refresh: Callable[[], None] | None = getattr(self.app, "refresh_job_info", None)
        if refresh is not None:
            refresh()
        self.refresh_state()
        self.query_one("#disconnect", Button).focus()

    @on(Button.Pressed, "#resume-background")
    async def _resume_in_background(self) -> None:
        """Resume the unfinished disconnect in a background runner (the App starts it)."""
        if self._pending is not None and not self.busy:
            await self.run_action("app.continue_in_background")

    def _show_failure(self, failure: str | None) -> None:
        text = failure or "The disconnect was stopped."
        text += (
            "\n\nNothing was deleted from this computer: both accounts stay connected and "
            "the products already changed are recorded. Retry continues where it stopped; "
            "Cancel keeps you connected and the next sync puts those products back."
        )
        show_text(self.query_one("#failure-text", Static), text)
        self.query_one(JobProgress).flush()
        self.set_class(True, "-failed")
        self.refresh_state()
        self.query_one("#retry", Button).focus()
