"""Changing the text of a Static (or Label) at the least cost to the event loop."""

from __future__ import annotations

from rich.cells import cell_len
from textual.widgets import Static


def show_text(widget: Static, text: str) -> None:
    """Show `text` in `widget`.

    Each `Static.update` lays the whole screen out again, several milliseconds on the loop
    that also reads the keys: nothing is done when the text is unchanged, and only a repaint
    when the widget keeps its one line and its width does not follow its text.
    """
    if widget.content == text:
        return
    width = widget.styles.width
    keeps_its_box = (
        width is not None
        and not width.is_auto
        and widget.size.height == 1
        and "\n" not in text
        and cell_len(text) <= widget.content_size.width
    )
    widget.update(text, layout=not keeps_its_box)
