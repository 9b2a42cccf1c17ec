"""Checkbox and RadioButton whose state shows as a mark, not only as a colour.

Textual draws the same `X` / `●` for on and off and tells them apart by colour, which is
lost on a 16-colour terminal over SSH (or to a colour-blind merchant).
"""

from __future__ import annotations

from textual.widgets import Checkbox, RadioButton


class MarkedCheckbox(Checkbox):
    """A Checkbox showing `X` when ticked and a blank when not."""

    @property  # type: ignore[override]
    def BUTTON_INNER(self) -> str:  # noqa: N802 - overrides Textual's class attribute
        return "X" if self.value else " "


class MarkedRadioButton(RadioButton):
    """A RadioButton showing `●` when chosen and a blank when not."""

    @property  # type: ignore[override]
    def BUTTON_INNER(self) -> str:  # noqa: N802 - overrides Textual's class attribute
        return "●" if self.value else " "
