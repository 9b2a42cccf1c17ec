"""Stop Textual keeping dead widgets' rendered lines alive (Textualize/textual#6665).

`StylesCache.get_inner_outer` is an `lru_cache` on an instance method, so its keys hold up to
1024 `StylesCache` objects of widgets long removed, each with the lines it last rendered.
Every widget removed (a screen left, footer keys rebuilt) is kept that way: when every screen
switch built a new screen, a few dozen switches left some 110 000 extra objects on the heap and
each full garbage collection stopped the event loop (and the keys) for ~100 ms. The cache
here is keyed by the two colours only. Written against textual==8.2.8, which pyproject pins exactly.
"""

from __future__ import annotations

from functools import lru_cache

from textual._styles_cache import StylesCache
from textual.color import Color
from textual.style import Style


@lru_cache(1024)
def inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
    """The inner and outer background styles (what Textual's method returns)."""
    return (
        Style(background=base_background + background),
        Style(background=base_background),
    )


def install() -> None:
    """Idempotent; `self.get_inner_outer(a, b)` keeps working as a static method."""
    StylesCache.get_inner_outer = staticmethod(inner_outer)  # type: ignore[method-assign,assignment]
