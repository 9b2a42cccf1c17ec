"""A screen the App builds once and shows again and again (Overview, Product settings)."""

from __future__ import annotations

from textual import events
from textual.screen import Screen


class KeptScreen(Screen[None]):
    """Shown again, Textual restyles every widget of a screen (tens of milliseconds for a
    form) in case the CSS changed while it was hidden. Here that happens only when the CSS
    did change (a new theme): Textual counts its CSS updates, and a screen records the count
    its styles were last brought up to. Written against textual==8.2.8 (pinned).

    Subclasses read their state afresh in `shown()`.
    """

    def on_mount(self) -> None:
        # Just mounted: every widget was styled as it was added (no restyle when first shown).
        self._css_update_count = self.app._css_update_count

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Runs before Screen._on_screen_resume (handlers run from the subclass up).
        current = self.app._css_update_count
        if self._css_update_count == current:
            event.refresh_styles = False
        self._css_update_count = current
        self.shown()

    def shown(self) -> None:
        """Called each time the screen is shown, the first time included."""
