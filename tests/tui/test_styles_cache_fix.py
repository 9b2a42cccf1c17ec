"""Widgets removed from the screen do not stay in memory through Textual's style cache."""

from __future__ import annotations

import gc

from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.widgets import Label

from tui import styles_cache_fix


class Rebuilds(App[None]):
    """A list rebuilt again and again, as screens and progress views are."""

    def compose(self) -> ComposeResult:
        yield Vertical(id="list")

    async def rebuild(self, round_: int) -> None:
        box = self.query_one("#list", Vertical)
        await box.remove_children()
        await box.mount_all(Label(f"card {round_}.{i}") for i in range(20))


async def test_removed_widgets_are_freed() -> None:
    from textual._styles_cache import StylesCache

    styles_cache_fix.install()
    app = Rebuilds()
    async with app.run_test(size=(40, 30)) as pilot:
        for round_ in range(30):
            await app.rebuild(round_)
            await pilot.pause()  # drawn: each label's style cache is filled
        gc.collect()
        caches = [o for o in gc.get_objects() if isinstance(o, StylesCache)]
        widgets = list(app.screen.walk_children(with_self=True))
    # One cache per widget on screen (and the app's few); not one per label ever drawn.
    assert len(caches) < len(widgets) + 10
