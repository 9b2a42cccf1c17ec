"""Product Settings: defaults a merchant expects, a faithful round trip, clear refusals."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from connector.errors import UsageError
from connector.product_options import ProductOptions


def test_defaults_push_nothing_until_the_merchant_turns_sync_on() -> None:
    options = ProductOptions()
    assert options.sync_products is False
    assert options.statuses == ("publish",)
    assert options.unmanaged_stock == 10
    assert options.price_mode == "regular_with_sale"
    assert options.warehouse_code == ""
    assert options.locale == ""
    assert options.take_over_existing is False  # the seller's own products stay theirs


def test_round_trip_through_json() -> None:
    options = ProductOptions(
        sync_products=True,
        statuses=("publish", "private"),
        unmanaged_stock=3,
        price_mode="current",
        warehouse_code="paris-warehouse",
        locale="fr_FR",
    )
    stored = json.loads(json.dumps(options.to_dict()))
    assert ProductOptions.from_dict(stored) == options
    assert stored == {
        "sync_products": True,
        "statuses": ["publish", "private"],
        "unmanaged_stock": 3,
        "price_mode": "current",
        "warehouse_code": "paris-warehouse",
        "locale": "fr_FR",
        "take_over_existing": False,
    }


@pytest.mark.parametrize(
    "data",
    [None, {}, {"colour": "blue"}, {"future_option": 1, "sync_products": False}],
)
def test_from_dict_tolerates_missing_and_unknown_keys(data: dict[str, Any] | None) -> None:
    assert ProductOptions.from_dict(data) == ProductOptions()


@pytest.mark.parametrize(
    ("data", "field", "expected"),
    [
        ({"statuses": ["draft", "publish", "publish"]}, "statuses", ("publish", "draft")),
        ({"statuses": "publish, private"}, "statuses", ("publish", "private")),
        ({"statuses": ["Published"]}, "statuses", ("publish",)),
        ({"sync_products": "on"}, "sync_products", True),
        ({"sync_products": "false"}, "sync_products", False),
        ({"sync_products": 1}, "sync_products", True),
        ({"unmanaged_stock": "25"}, "unmanaged_stock", 25),
        ({"unmanaged_stock": 0}, "unmanaged_stock", 0),
        ({"warehouse_code": "  paris  "}, "warehouse_code", "paris"),
        ({"warehouse_code": None}, "warehouse_code", ""),
        ({"locale": "fr-fr"}, "locale", "fr_FR"),
        ({"locale": "de"}, "locale", "de"),
        ({"locale": " "}, "locale", ""),
    ],
)
def test_values_are_normalised(data: dict[str, Any], field: str, expected: object) -> None:
    assert getattr(ProductOptions.from_dict(data), field) == expected


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"sync_products": "maybe"}, "Sync products must be on or off"),
        ({"statuses": []}, "at least one product status"),
        ({"statuses": ["publish", "trash"]}, "Unknown product status 'trash'"),
        ({"statuses": 3}, "Statuses must be a list"),
        ({"unmanaged_stock": -1}, "whole number from 0 to 1,000,000,000"),
        ({"unmanaged_stock": "ten"}, "whole number"),
        ({"unmanaged_stock": True}, "whole number"),
        ({"unmanaged_stock": 2_000_000_000}, "whole number"),
        ({"price_mode": "sale"}, "Unknown price mode 'sale'"),
        ({"warehouse_code": 12}, "warehouse code must be text"),
        ({"warehouse_code": "w" * 256}, "longer than 255"),
        ({"locale": "english"}, "locale like en_US"),
        ({"locale": 7}, "locale like en_US"),
    ],
)
def test_bad_values_are_refused_with_one_clear_line(data: dict[str, Any], words: str) -> None:
    with pytest.raises(UsageError) as refused:
        ProductOptions.from_dict(data)
    assert words in str(refused.value)
    assert "\n" not in str(refused.value)
    assert refused.value.exit_code == 2


def test_constructor_checks_values_too() -> None:
    with pytest.raises(UsageError):
        ProductOptions(statuses=("archived",))


def test_from_dict_refuses_something_that_is_not_a_mapping() -> None:
    with pytest.raises(UsageError, match="mapping"):
        ProductOptions.from_dict(["publish"])  # type: ignore[arg-type]


def test_options_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ProductOptions().sync_products = True  # type: ignore[misc]


def test_describe_reads_like_the_settings_screen() -> None:
    assert ProductOptions().describe() == [
        ("Sync products", "Off"),
        ("Statuses pushed", "Published"),
        (
            "Stock when WooCommerce does not manage it",
            "10 when in stock or on backorder, 0 when out of stock",
        ),
        ("Price", "Regular price, sale price as a discount"),
        ("Warehouse code", "None (no warehouse code sent)"),
        ("Language", "The store's language"),
        ("Products already on Mirakl Connect", "Left alone (not created by the connector)"),
    ]
    custom = ProductOptions(
        sync_products=True,
        statuses=("publish", "draft"),
        price_mode="current",
        warehouse_code="paris",
        locale="fr_FR",
        take_over_existing="on",
    )
    assert dict(custom.describe()) == {
        "Sync products": "On",
        "Statuses pushed": "Published, Draft",
        "Stock when WooCommerce does not manage it": (
            "10 when in stock or on backorder, 0 when out of stock"
        ),
        "Price": "Current price only",
        "Warehouse code": "paris",
        "Language": "fr_FR",
        "Products already on Mirakl Connect": "Taken over and updated",
    }
