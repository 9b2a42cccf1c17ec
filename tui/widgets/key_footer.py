"""The footer of every screen: Textual's Footer, rebuilt only when what it shows changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.screen import Screen

#: What a footer shows: each shown key's key, description, enabled state and tooltip.
Shown = tuple[tuple[str, str, bool, str], ...]


def shown_keys(screen: Screen[object]) -> Shown:
    return tuple(
        (binding.key, binding.description, enabled, tooltip)
        for _node, binding, enabled, tooltip in screen.active_bindings.values()
        if binding.show or binding.action == "command_palette"
    )


class KeyFooter(Footer):
    """Textual's Footer, which rebuilds its keys (a dozen widgets) whenever the screen's
    bindings are refreshed. The App keeps some screens and shows them again and again, so:

    - it rebuilds only when the keys, their words or their enabled state changed;
    - a screen being left does not rebuild (its bindings are worked out against the screen
      being shown: they would be wrong, and rebuilt again on its return);
    - each rebuild let go of the old keys: Textual's Footer binds every key to its `compact`
      value, and those watchers keep removed keys alive until `compact` changes, which it
      never does here (a leak of ten widgets per rebuild);
    - each key bound to the footer's `compact` starts with its value: a key's own default
      (True), then bound to the footer's (False), restyles it twice as it mounts (a
      millisecond a key on the way to the first frame). Written against textual==8.2.8.
    """

    def __init__(self) -> None:
        super().__init__()
        self._shown: Shown | None = None

    def bindings_changed(self, screen: Screen[object]) -> None:
        if screen is not self.screen:
            return
        if screen is not screen.app.screen:
            self._bindings_ready = True
            return
        if screen.app.app_focus and self.is_attached:
            shown = shown_keys(screen)
            if shown == self._shown:
                return
            self._shown = shown
        super().bindings_changed(screen)

    def compose(self) -> ComposeResult:
        screen = self.screen
        if not self._bindings_ready and screen is screen.app.screen and screen.app.app_focus:
            # The keys at once: Textual's Footer mounts empty and is rebuilt a refresh later,
            # a second mount the app's first frame waited for.
            self._bindings_ready = True
            self._shown = shown_keys(screen)
        for widget in super().compose():
            # Every key but the palette's is bound to the footer's value.
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):
                widget.set_reactive(FooterKey.compact, self.compact)
                widget.set_class(self.compact, "-compact", update=False)  # its watcher's work
            yield widget

    async def recompose(self) -> None:
        await super().recompose()
        watchers: dict[str, list[tuple[object, object]]] = getattr(self, "__watchers", {})
        for callbacks in watchers.values():
            callbacks[:] = [
                (node, callback)
                for node, callback in callbacks
                if getattr(node, "is_attached", True)
            ]
