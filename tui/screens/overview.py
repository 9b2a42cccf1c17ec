"""Overview: both accounts, the ledger counts, the last sync, the latest activity, Sync now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from connector.services.status import (
    STALE_WHILE_RUNNING,
    disconnect_effect,
    from_woo,
    overview,
)
from tui.screens.kept import KeptScreen
from tui.widgets.header import AccountsHeader, mirakl_name, store_name
from tui.widgets.key_footer import KeyFooter
from tui.widgets.text import show_text

if TYPE_CHECKING:
    from connector.engine import Engine
    from tui.app import MiraklWooApp

LABEL_WIDTH = 16
#: Ledger states in the order a merchant reads them, with their words.
STATE_LABELS = {
    "pushed": "pushed",
    "waiting": "waiting",
    "failed": "failed",
    "set_to_0": "set to 0",
    "skipped": "skipped",
}


def format_time(value: Any) -> str:
    """`2025-01-31 09:15 UTC` from an ISO string; the raw text if it is something else."""
    if not value:
        return "unknown"
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _row(label: str, value: str) -> str:
    return f"{label.ljust(LABEL_WIDTH)}{value}"


def accounts_text(current: dict[str, Any]) -> str:
    mirakl, woo = current.get("mirakl"), current.get("woocommerce")
    lines = []
    if mirakl:
        lines.append(_row("Mirakl Connect", mirakl_name(mirakl) or ""))
        lines.append(_row("  client ID", str(mirakl.get("client_id") or "unknown")))
        lines.append(_row("  since", format_time(mirakl.get("connected_since"))))
    else:
        lines.append(_row("Mirakl Connect", "not connected"))
    if woo:
        lines.append(_row("WooCommerce", store_name(woo) or ""))
        lines.append(_row("  URL", str(woo.get("url") or "unknown")))
        lines.append(_row("  since", format_time(woo.get("connected_since"))))
    else:
        lines.append(_row("WooCommerce", "not connected"))
    return "\n".join(lines)


def products_text(current: dict[str, Any], skipped_reasons: dict[str, int]) -> str:
    counts: dict[str, int] = dict(current.get("products") or {})
    linked = counts.pop("linked", 0)
    woo_products = counts.pop("woo_products", 0)
    counts.pop("already_on_mirakl", None)  # said by its skip reason below
    taken_over = counts.pop("taken_over", 0)
    counts.pop("changed_by_disconnect", None)  # its own line below
    shown = [f"{counts.pop(state, 0):,} {label}" for state, label in STATE_LABELS.items()]
    shown += [f"{n:,} {state.replace('_', ' ')}" for state, n in sorted(counts.items())]
    lines = [
        _row("Sync Product", "On" if current.get("sync_products") else "Off (nothing is pushed)"),
        _row("Products", " · ".join(shown[:3])),
        _row("", " · ".join(shown[3:])),
    ]
    if linked:
        lines.extend(_row("", line) for line in from_woo(woo_products, linked))
    if taken_over:
        lines.append(_row("", f"  {taken_over:,} taken over: were on Mirakl Connect before"))
    effect = disconnect_effect(current, "resume or cancel it on Account.")
    if effect:
        lines.append(_row("", f"  {effect}"))
    for reason, count in list(skipped_reasons.items())[:5]:
        lines.append(_row("", f"  {count:,} skipped: {reason}"))
    return "\n".join(lines)


def last_sync_text(last: dict[str, Any] | None) -> str:
    if not last:
        return _row("Last sync", "never")
    if last.get("disabled"):
        return _row("Last sync", f"{format_time(last.get('finished_at'))}: Sync Product was off")
    figures = (
        f"{last.get('pushed', 0):,} pushed, {last.get('unchanged', 0):,} unchanged, "
        f"{last.get('set_to_0', 0):,} set to 0, {last.get('failed', 0):,} failed, "
        f"{last.get('skipped', 0):,} skipped"
    )
    return "\n".join([_row("Last sync", format_time(last.get("finished_at"))), _row("", figures)])


def unfinished_sync_text(engine: Engine) -> str:
    """`The last sync stopped at N of M; Sync now continues it.`, or "" when no sync is
    unfinished (or one runs now: its progress says the rest)."""
    from connector.services.background import unfinished_sync

    job = unfinished_sync(engine)
    if job is None:
        return ""
    if job["total"]:
        where = f"stopped at {job['done']:,} of {job['total']:,} products"
    else:
        where = "stopped before it finished"
    # A new pass sends only what is not on Mirakl Connect yet: it continues, in effect.
    return f"The last sync {where}; Sync now continues it."


def activity_text(rows: list[tuple[str, str, str]]) -> str:
    if not rows:
        return "No activity yet."
    lines = []
    for at, level, message in rows:
        marker = {"warning": "Warning: ", "error": "Error: "}.get(level, "")
        lines.append(f"{format_time(at)[:16]}  {marker}{message}")
    return "\n".join(lines)


class OverviewScreen(KeptScreen):
    """Both accounts, ledger counts, last sync and latest activity; `s` runs a sync.

    A sync another process runs shows in the same progress view (read from its journal);
    an unfinished one is said under the last sync.
    """

    DEFAULT_CSS = """
    OverviewScreen #sync-job {
        padding: 0 1;
        border-left: thick $warning;
    }
    """

    _shown_before = False

    def _put(self, name: str, text: str) -> None:
        """Show `text` in the section `#name` (most returns to the Overview change nothing)."""
        show_text(self.query_one(f"#{name}", Static), text)

    def compose(self) -> ComposeResult:
        yield AccountsHeader()
        with VerticalScroll(id="body"):
            yield Static("Overview", classes="heading")
            yield Static("", id="accounts", classes="section", markup=False)
            yield Static("", id="products", classes="section", markup=False)
            yield Static("", id="last-sync", classes="section", markup=False)
            yield Static("", id="sync-job", classes="section", markup=False)
            if cast("MiraklWooApp", self.app).first_frame_shown:
                from tui.widgets.sync_view import SyncView

                yield SyncView()
            yield Static("Latest activity", classes="subheading")
            yield Static("", id="activity", classes="section", markup=False)
        yield KeyFooter()

    def add_sync_view(self) -> None:
        """Called by the App once its first frame is on the terminal. The sync's view is
        hidden until a sync runs, so the first frame does not wait for its progress bar and
        buttons (a good part of the time to that frame)."""
        from tui.widgets.sync_view import SyncView

        if not self.query(SyncView):
            self.query_one("#body").mount(SyncView(), after="#sync-job")

    def shown(self) -> None:
        """Shown (first or again: the App keeps this screen): read the state afresh. Shown
        again, it is drawn at once with what it last showed and the fresh figures follow
        a frame later (counting a large ledger takes milliseconds the key should not wait)."""
        if self._shown_before:
            self.call_after_refresh(self.refresh_state, max_age=STALE_WHILE_RUNNING)
        else:
            self._shown_before = True
            self.refresh_state()

    def refresh_state(self, *, max_age: float = 0.0) -> None:
        """Read the state again (the App calls this when a sync ends); `max_age`: see
        `connector.services.status.overview`."""
        engine = cast("MiraklWooApp", self.app).engine
        shown = overview(engine, max_age=max_age)
        current, reasons = shown["status"], shown["skipped_reasons"]
        activity = shown["activity"]
        self._put("accounts", accounts_text(current))
        self._put("products", products_text(current, reasons))
        self._put("last-sync", last_sync_text(current.get("last_sync")))
        self._put("activity", activity_text(activity))
        app = cast("MiraklWooApp", self.app)
        unfinished = (
            "" if app.sync_running or app.background_kind() else unfinished_sync_text(engine)
        )
        self._put("sync-job", unfinished)
        self.query_one("#sync-job", Static).display = bool(unfinished)
