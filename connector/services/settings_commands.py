"""Product Settings shown and set one at a time, headless: the same ProductOptions checks as
the Product Settings screen, so the CLI can never save what the app would refuse."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector.engine import Engine
from connector.errors import UsageError
from connector.product_options import ProductOptions
from connector.services.sync import load_options, save_options

#: The names `settings set` takes: the keys of `settings --json`, in the screen's order.
NAMES: tuple[str, ...] = tuple(ProductOptions().to_dict())


@dataclass(frozen=True)
class SettingRow:
    """One Product Setting: its JSON name, the screen's label, and its value as shown there."""

    name: str
    label: str
    shown: str


def current(engine: Engine) -> ProductOptions:
    """The saved settings (defaults on a fresh machine, which stays untouched)."""
    return load_options(engine)


def rows(options: ProductOptions) -> list[SettingRow]:
    pairs = zip(NAMES, options.describe(), strict=True)  # describe() follows to_dict()'s order
    return [SettingRow(name, label, shown) for name, (label, shown) in pairs]


def set_one(engine: Engine, name: str, value: str) -> tuple[ProductOptions, bool]:
    """Set one setting from its command-line text; returns the settings and whether they
    changed. A bad name or value raises UsageError before anything is written."""
    if name not in NAMES:
        raise UsageError(
            f"Unknown setting {name!r}: choose among {', '.join(NAMES)}.",
            "See them with `mirakl-woo settings`.",
        )
    saved = current(engine)
    data: dict[str, Any] = {**saved.to_dict(), name: value}
    options = ProductOptions.from_dict(data)  # the screen's checks, raising one-line errors
    if options == saved:
        return options, False
    save_options(engine, options)
    return options, True
