"""Overview: both accounts, the ledger counts, the last sync, the latest activity, Sync now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from connector.services.status import status
from tui.widgets.header import AccountsHeader, mirakl_name, store_name
from tui.widgets.job_progress import JobProgress

if TYPE_CHECKING:
    from tui.app import MiraklWooApp

LABEL_WIDTH = 16
#: Ledger states in the order a merchant reads them, with their words.
STATE_LABELS = {
    "pushed": "pushed",
    "waiting": "waiting",
    "failed": "failed",
    "zeroed": "set to 0",
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
    counts.pop("linked", None)
    shown = [f"{counts.pop(state, 0):,} {label}" for state, label in STATE_LABELS.items()]
    shown += [f"{n:,} {state.replace('_', ' ')}" for state, n in sorted(counts.items())]
    lines = [
        _row("Sync Product", "On" if current.get("sync_products") else "Off (nothing is pushed)"),
        _row("Products", " · ".join(shown[:3])),
        _row("", " · ".join(shown[3:])),
    ]
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
        f"{last.get('zeroed', 0):,} set to 0, {last.get('failed', 0):,} failed, "
        f"{last.get('skipped', 0):,} skipped"
    )
    return "\n".join([_row("Last sync", format_time(last.get("finished_at"))), _row("", figures)])


def activity_text(rows: list[tuple[str, str, str]]) -> str:
    if not rows:
        return "No activity yet."
    lines = []
    for at, level, message in rows:
        marker = {"warning": "Warning: ", "error": "Error: "}.get(level, "")
        lines.append(f"{format_time(at)[:16]}  {marker}{message}")
    return "\n".join(lines)


class OverviewScreen(Screen[None]):
    """Both accounts, ledger counts, last sync and latest activity; `s` runs a sync."""

    def compose(self) -> ComposeResult:
        yield AccountsHeader()
        with VerticalScroll(id="body"):
            yield Static("Overview", classes="heading")
            yield Static("", id="accounts", classes="section", markup=False)
            yield Static("", id="products", classes="section", markup=False)
            yield Static("", id="last-sync", classes="section", markup=False)
            yield JobProgress("Sync", id="sync-progress")
            yield Static("Latest activity", classes="subheading")
            yield Static("", id="activity", classes="section", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_state()
        app = cast("MiraklWooApp", self.app)
        app.attach_sync_progress(self.query_one("#sync-progress", JobProgress))

    def refresh_state(self) -> None:
        """Read the state again (the App calls this when a sync ends)."""
        engine = cast("MiraklWooApp", self.app).engine
        current = status(engine)
        store = engine.peek_store()
        reasons = store.skipped_reasons() if store else {}
        activity = store.recent_activity(10) if store else []
        self.query_one("#accounts", Static).update(accounts_text(current))
        self.query_one("#products", Static).update(products_text(current, reasons))
        self.query_one("#last-sync", Static).update(last_sync_text(current.get("last_sync")))
        self.query_one("#activity", Static).update(activity_text(activity))
