"""Checkbox and RadioButton whose state shows as a mark, not only as a colour.

Textual draws the same `X` / `●` for on and off and tells them apart by colour, which is
lost on a 16-colour terminal over SSH (or to a colour-blind merchant). Likewise the option a
focused RadioSet's cursor is on is only a background colour: here it also gets a `›`.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox, RadioButton


class MarkedCheckbox(Checkbox):
    """A Checkbox showing `X` when ticked and a blank when not."""

    @property  # type: ignore[override]
    def BUTTON_INNER(self) -> str:  # noqa: N802 - overrides Textual's class attribute
        return "X" if self.value else " "


class MarkedRadioButton(RadioButton):
    """A RadioButton showing `●` when chosen and a blank when not, and `›` before its label
    while the cursor of its (focused) RadioSet is on it."""

    CURSOR = "›"

    @property  # type: ignore[override]
    def BUTTON_INNER(self) -> str:  # noqa: N802 - overrides Textual's class attribute
        return "●" if self.value else " "

    @property
    def has_cursor(self) -> bool:
        parent = self.parent
        return self.has_class("-selected") and parent is not None and parent.has_focus

    def render(self) -> Content:
        label_style = self.get_visual_style("toggle--label")
        lead = self.CURSOR if self.has_cursor else " "
        label = Content.assemble(" ", lead, self.label, " ").stylize_before(label_style)
        return Content.assemble(self._button, label)
