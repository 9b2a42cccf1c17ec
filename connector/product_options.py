"""The merchant's Product Settings: what the sync pushes to Mirakl Connect, and how."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, get_args

from connector.errors import UsageError

PriceMode = Literal["regular_with_sale", "current"]

#: WooCommerce product statuses a merchant may choose to push, with their admin labels.
STATUS_LABELS: dict[str, str] = {
    "publish": "Published",
    "private": "Private",
    "draft": "Draft",
    "pending": "Pending review",
}
ALLOWED_STATUSES: tuple[str, ...] = tuple(STATUS_LABELS)

PRICE_MODES: tuple[str, ...] = get_args(PriceMode)
PRICE_MODE_LABELS: dict[str, str] = {
    "regular_with_sale": "Regular price, sale price as a discount",
    "current": "Current price only",
}

#: Mirakl Connect's AvailableQuantity maximum.
MAX_QUANTITY = 1_000_000_000

# ISO-639 or ISO-639_ISO-3166, as the Mirakl Connect spec describes a locale.
_LOCALE = re.compile(r"^([a-z]{2,3})(?:_([A-Z]{2}|[0-9]{3}))?$")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class ProductOptions:
    """Product Settings: the Sync Product toggle and how WooCommerce products are mapped.

    Values are checked on construction; a bad one raises `UsageError` with one clear message.
    """

    sync_products: bool = False
    statuses: tuple[str, ...] = ("publish",)
    unmanaged_stock: int = 10
    price_mode: PriceMode = "regular_with_sale"
    warehouse_code: str = ""
    locale: str = ""
    # Products already on Mirakl Connect that the connector did not create are the seller's:
    # left alone unless the merchant explicitly opts in to take them over.
    take_over_existing: bool = False

    def __post_init__(self) -> None:
        # Normalise in place (frozen, hence object.__setattr__) so that equal settings compare
        # equal whatever spelling they came in.
        set_ = object.__setattr__
        set_(self, "sync_products", _check_bool(self.sync_products, "Sync products"))
        set_(
            self,
            "take_over_existing",
            _check_bool(self.take_over_existing, "Take over existing products"),
        )
        set_(self, "statuses", _check_statuses(self.statuses))
        set_(self, "unmanaged_stock", _check_stock(self.unmanaged_stock))
        set_(self, "price_mode", _check_price_mode(self.price_mode))
        set_(self, "warehouse_code", _check_warehouse(self.warehouse_code))
        set_(self, "locale", _check_locale(self.locale))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, the form kept in the settings table."""
        return {
            "sync_products": self.sync_products,
            "statuses": list(self.statuses),
            "unmanaged_stock": self.unmanaged_stock,
            "price_mode": self.price_mode,
            "warehouse_code": self.warehouse_code,
            "locale": self.locale,
            "take_over_existing": self.take_over_existing,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ProductOptions:
        """Build from a stored or user-given dict: unknown keys ignored, missing keys default."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise UsageError("Product settings must be a mapping of option names to values.")
        known = {
            "sync_products",
            "statuses",
            "unmanaged_stock",
            "price_mode",
            "warehouse_code",
            "locale",
            "take_over_existing",
        }
        return cls(**{key: value for key, value in data.items() if key in known})

    def describe(self) -> list[tuple[str, str]]:
        """(label, value) pairs for the Product Settings screen and `status`."""
        stock = f"{self.unmanaged_stock} when in stock or on backorder, 0 when out of stock"
        return [
            ("Sync products", "On" if self.sync_products else "Off"),
            ("Statuses pushed", ", ".join(STATUS_LABELS[s] for s in self.statuses)),
            ("Stock when WooCommerce does not manage it", stock),
            ("Price", PRICE_MODE_LABELS[self.price_mode]),
            ("Warehouse code", self.warehouse_code or "None (no warehouse code sent)"),
            ("Language", self.locale or "The store's language"),
            (
                "Products already on Mirakl Connect",
                "Taken over and updated"
                if self.take_over_existing
                else "Left alone (not created by the connector)",
            ),
        ]


def _check_bool(value: Any, label: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise UsageError(f"{label} must be on or off, not {value!r}.")


def _check_statuses(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise UsageError(f"Statuses must be a list of WooCommerce statuses, not {value!r}.")
    statuses: list[str] = []
    for item in value:
        status = item.strip().lower() if isinstance(item, str) else item
        if status == "published":
            status = "publish"
        if status not in STATUS_LABELS:
            allowed = ", ".join(ALLOWED_STATUSES)
            raise UsageError(f"Unknown product status {item!r}: choose among {allowed}.")
        if status not in statuses:
            statuses.append(status)
    if not statuses:
        raise UsageError("Choose at least one product status to push.")
    # Stable order (the admin's order), so the same choice always compares and prints the same.
    return tuple(s for s in ALLOWED_STATUSES if s in statuses)


def _check_stock(value: Any) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not 0 <= number <= MAX_QUANTITY:
        raise UsageError(
            f"The stock for unmanaged products must be a whole number from 0 to "
            f"{MAX_QUANTITY:,}, not {value!r}."
        )
    return number


def _check_price_mode(value: Any) -> PriceMode:
    if value not in PRICE_MODES:
        raise UsageError(f"Unknown price mode {value!r}: choose regular_with_sale or current.")
    return value  # type: ignore[no-any-return]


def _check_warehouse(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UsageError(f"The warehouse code must be text, not {value!r}.")
    code = value.strip()
    if len(code) > 255:
        raise UsageError("The warehouse code is longer than 255 characters.")
    return code


def _check_locale(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UsageError(f"The language must be a locale like en_US, not {value!r}.")
    text = value.strip().replace("-", "_")
    if not text:
        return ""
    language, _, region = text.partition("_")
    locale = f"{language.lower()}_{region.upper()}" if region else language.lower()
    if not _LOCALE.match(locale):
        raise UsageError(f"The language must be a locale like en_US or fr, not {value!r}.")
    return locale
