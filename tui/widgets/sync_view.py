"""The sync's progress and the buttons beside it, as Overview and Product settings show them."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.query import NoMatches

from tui.widgets.job_controls import JobControls
from tui.widgets.job_progress import JobProgress

if TYPE_CHECKING:
    from tui.app import MiraklWooApp


class SyncView(Vertical):
    """`#sync-progress` and `#sync-controls`; once mounted, the App shows in it the sync that
    runs (here or in another process), if any.

    Until it is mounted, the App keeps what a running sync reported and replays it here."""

    DEFAULT_CSS = """
    SyncView {
        height: auto;
    }
    """

    def compose(self) -> ComposeResult:
        yield JobProgress("Sync", id="sync-progress")
        yield JobControls(id="sync-controls")

    def on_mount(self) -> None:
        try:
            cast("MiraklWooApp", self.app).attach_sync_view(self)
        except NoMatches:  # mounted as the app quits: its children are gone already
            return
