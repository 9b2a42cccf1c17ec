"""WooCommerce -> Mirakl Connect mapping, built from WooCommerce's own sample payloads.

Every payload produced is checked against the `Product` schema of Mirakl's OpenAPI spec.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from connector.mapping import (
    MappedProduct,
    Skipped,
    StoreContext,
    html_to_text,
    map_item,
    payload_hash,
    zero_stock_payload,
)
from connector.product_options import ProductOptions
from tests.data import SPECS

WOO = SPECS / "woocommerce"
STORE = StoreContext(currency="USD", locale="en_US")
SPEC_URI = "urn:mirakl-connect-openapi"

Product = dict[str, Any]


# --- the samples and the spec ------------------------------------------------------------------


@cache
def _sample(name: str) -> Any:
    return json.loads((WOO / name).read_text(encoding="utf-8"))


def simple_sample() -> Product:
    """products--retrieve-a-product.json: simple product 794 "Premium Quality", no SKU."""
    return copy.deepcopy(_sample("products--retrieve-a-product.json"))


def listed_products() -> list[Product]:
    """products--list-all-products.json: variable 799 "Ship Your Idea" and simple 794."""
    return copy.deepcopy(_sample("products--list-all-products.json"))


def variable_sample() -> Product:
    return listed_products()[0]


def variation_samples() -> list[Product]:
    """Variations 733 (Green) and 732 (Black), each with its own image, no SKU."""
    return copy.deepcopy(_sample("product-variations--list-all-product-variations.json"))


def simple(**changes: Any) -> Product:
    """The simple sample with a SKU (the sample has none), plus `changes`."""
    product = simple_sample()
    product["sku"] = "PQ-794"
    product.update(changes)
    return product


def variation(index: int = 0, **changes: Any) -> Product:
    item = variation_samples()[index]
    item["sku"] = f"SYI-{item['id']}"
    item.update(changes)
    return item


@cache
def _validators() -> tuple[Draft202012Validator, Draft202012Validator]:
    spec = yaml.safe_load((SPECS / "mirakl-connect-openapi.yaml").read_text(encoding="utf-8"))
    # The base Attribute says `value: {type: object}` while each subtype says string, number
    # or boolean (an OpenAPI discriminator, which JSON Schema does not apply): drop the base
    # type and check our attributes against AttributeString itself.
    del spec["components"]["schemas"]["Attribute"]["properties"]["value"]["type"]
    registry = Registry().with_resource(
        SPEC_URI, Resource(contents=spec, specification=DRAFT202012)
    )

    def validator(name: str) -> Draft202012Validator:
        ref = {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}
        return Draft202012Validator(ref, registry=registry)

    return validator("Product"), validator("AttributeString")


def assert_valid(payload: dict[str, Any]) -> None:
    product_schema, attribute_schema = _validators()
    errors = [e.message for e in product_schema.iter_errors(payload)]
    for attribute in payload.get("attributes") or []:
        errors += [e.message for e in attribute_schema.iter_errors(attribute)]
    assert errors == [], errors


def mapped(
    product: Product, item: Product | None = None, store: StoreContext = STORE, **options: Any
) -> MappedProduct:
    result = map_item(product, item, store, ProductOptions(**options))
    assert isinstance(result, MappedProduct), result
    assert_valid(result.payload)
    assert result.payload_hash == payload_hash(result.payload)
    return result


def skipped(product: Product, item: Product | None = None, **options: Any) -> Skipped:
    result = map_item(product, item, STORE, ProductOptions(**options))
    assert isinstance(result, Skipped), result
    return result


# --- the samples as they are, and with a SKU ---------------------------------------------------


@pytest.mark.parametrize(
    ("product", "item", "woo_id", "parent_id", "name"),
    [
        (simple_sample(), None, 794, None, "Premium Quality"),
        (listed_products()[1], None, 794, None, "Premium Quality"),
        (variable_sample(), variation_samples()[0], 733, 799, "Ship Your Idea – Green"),
        (variable_sample(), variation_samples()[1], 732, 799, "Ship Your Idea – Black"),
    ],
    ids=["retrieved simple", "listed simple", "variation green", "variation black"],
)
def test_samples_have_no_sku_and_are_skipped(
    product: Product, item: Product | None, woo_id: int, parent_id: int | None, name: str
) -> None:
    assert skipped(product, item) == Skipped(
        woo_id=woo_id, woo_parent_id=parent_id, name=name, reason="no SKU"
    )


def test_blank_sku_is_no_sku() -> None:
    assert skipped(simple(sku="   ")).reason == "no SKU"


def test_simple_sample_with_a_sku_maps_fully() -> None:
    result = mapped(simple(sku="  PQ-794 "))
    description = (
        "Pellentesque habitant morbi tristique senectus et netus et malesuada fames ac turpis "
        "egestas. Vestibulum tortor quam, feugiat vitae, ultricies eget, tempor sit amet, ante. "
        "Donec eu libero sit amet quam egestas semper. Aenean ultricies mi vitae est. Mauris "
        "placerat eleifend leo."
    )
    assert result.mirakl_id == "PQ-794"
    assert (result.woo_id, result.woo_parent_id) == (794, None)
    assert result.warehouses == [""]
    assert result.warnings == []
    assert result.payload == {
        "id": "PQ-794",
        "titles": [{"locale": "en_US", "value": "Premium Quality"}],
        "descriptions": [{"locale": "en_US", "value": description}],
        "images": [
            {"url": "https://example.com/wp-content/uploads/2017/03/T_2_front-4.jpg"},
            {"url": "https://example.com/wp-content/uploads/2017/03/T_2_back-2.jpg"},
        ],
        "standard_prices": [{"price": {"amount": 21.99, "currency": "USD"}}],
        "discount_prices": None,
        "quantities": [{"available_quantity": 10}],
        "gtins": [],
        "category": {"id": "9", "labels": [{"locale": "en_US", "value": "Clothing"}]},
        "brand": None,
        "attributes": [],
    }


def test_variation_sample_with_a_sku_maps_fully() -> None:
    result = mapped(variable_sample(), variation(0))
    assert result.mirakl_id == "SYI-733"
    assert (result.woo_id, result.woo_parent_id) == (733, 799)
    assert result.warnings == []
    payload = result.payload
    assert payload["titles"] == [{"locale": "en_US", "value": "Ship Your Idea – Green"}]
    # The variation has no description of its own: the parent's is used.
    assert payload["descriptions"][0]["value"].startswith("Pellentesque habitant morbi")
    assert [image["url"] for image in payload["images"]] == [
        "https://example.com/wp-content/uploads/2016/10/T_3_front-12.jpg",
        "https://example.com/wp-content/uploads/2017/03/T_4_front-11.jpg",
        "https://example.com/wp-content/uploads/2017/03/T_4_back-10.jpg",
        "https://example.com/wp-content/uploads/2017/03/T_3_front-10.jpg",
        "https://example.com/wp-content/uploads/2017/03/T_3_back-10.jpg",
    ]
    assert payload["standard_prices"] == [{"price": {"amount": 9.0, "currency": "USD"}}]
    assert payload["quantities"] == [{"available_quantity": 10}]
    assert payload["category"] == {
        "id": "9",
        "labels": [{"locale": "en_US", "value": "Clothing"}],
    }
    # Color is the variation's own option; Size is an "any" variation attribute of the
    # parent, so the parent's list of sizes is not this variation's value.
    assert payload["attributes"] == [
        {"id": "color", "name": "Color", "type": "STRING", "value": "Green"}
    ]


def test_a_variation_never_takes_its_parents_sku() -> None:
    parent = variable_sample()
    parent["sku"] = "SYI"
    # WooCommerce shows a variation without a SKU of its own with the parent's SKU.
    result = skipped(parent, variation(0, sku="SYI"))
    assert result.reason.startswith("no SKU")
    assert mapped(parent, variation(0, sku="SYI-GREEN")).mirakl_id == "SYI-GREEN"


@pytest.mark.parametrize(
    ("product", "reason"),
    [
        (variable_sample(), "variable product: its variations are pushed one by one"),
        ({**simple(), "type": "grouped"}, "grouped product: not a product that can be sold"),
        ({**simple(), "type": "external"}, "external product: sold on another site"),
    ],
    ids=["variable", "grouped", "external"],
)
def test_only_simple_products_and_variations_are_pushed(product: Product, reason: str) -> None:
    product["sku"] = "SOMETHING"
    assert skipped(product).reason.startswith(reason)


def test_a_sku_longer_than_the_spec_allows_cannot_be_fitted() -> None:
    assert skipped(simple(sku="S" * 257)).reason == "SKU longer than 256 characters"
    assert mapped(simple(sku="S" * 256)).mirakl_id == "S" * 256


# --- statuses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("product_status", "variation_status", "statuses", "outcome"),
    [
        ("publish", None, ("publish",), "pushed"),
        ("draft", None, ("publish",), "status draft not synced"),
        ("private", None, ("publish",), "status private not synced"),
        ("pending", None, ("publish",), "status pending not synced"),
        ("draft", None, ("publish", "draft"), "pushed"),
        ("private", None, ("private",), "pushed"),
        ("publish", "publish", ("publish",), "pushed"),
        # A disabled variation is "private" in WooCommerce.
        ("publish", "private", ("publish",), "status private not synced"),
        ("draft", "publish", ("publish",), "status draft not synced"),
        ("publish", "private", ("publish", "private"), "pushed"),
    ],
)
def test_status_filter(
    product_status: str, variation_status: str | None, statuses: tuple[str, ...], outcome: str
) -> None:
    if variation_status is None:
        product, item = simple(status=product_status), None
    else:
        product, item = variable_sample(), variation(0, status=variation_status)
        product["status"] = product_status
    result = map_item(product, item, STORE, ProductOptions(statuses=statuses))
    if outcome == "pushed":
        assert isinstance(result, MappedProduct)
    else:
        assert isinstance(result, Skipped)
        assert result.reason == outcome


# --- fitting, not refusing ---------------------------------------------------------------------


def _many_images(count: int) -> list[dict[str, str]]:
    return [{"src": f"https://example.com/img/{n}.jpg"} for n in range(count)]


def _attribute(name: str, value: str) -> dict[str, Any]:
    return {"id": 0, "name": name, "visible": True, "variation": False, "options": [value]}


@pytest.mark.parametrize(
    ("changes", "warning", "check"),
    [
        (
            {"name": "T" * 300},
            "title cut to 255 characters",
            lambda p: len(p["titles"][0]["value"]) == 255 and p["titles"][0]["value"][-1] == "…",
        ),
        (
            {"description": "<p>" + "word " * 1500 + "</p>"},
            "description cut to 6000 characters",
            lambda p: len(p["descriptions"][0]["value"]) == 6000,
        ),
        (
            {"images": _many_images(20)},
            "images cut to 15 (the product has 20)",
            lambda p: (
                [i["url"] for i in p["images"]]
                == [f"https://example.com/img/{n}.jpg" for n in range(15)]
            ),
        ),
        (
            {"attributes": [_attribute("Material", "m" * 2500)]},
            "attribute 'Material' value cut to 2000 characters",
            lambda p: len(p["attributes"][0]["value"]) == 2000,
        ),
        (
            {"attributes": [_attribute("N" * 300, "value")]},
            f"attribute name {'N' * 40!r}… cut to 255 characters",
            lambda p: (
                len(p["attributes"][0]["name"]) == 255 and len(p["attributes"][0]["id"]) == 255
            ),
        ),
        (
            {"brands": [{"id": 1, "name": "B" * 300, "slug": "b"}]},
            "brand cut to 255 characters",
            lambda p: len(p["brand"]) == 255,
        ),
        (
            {"categories": [{"id": 3, "name": "C" * 300, "slug": "c"}]},
            "category name cut to 255 characters",
            lambda p: len(p["category"]["labels"][0]["value"]) == 255,
        ),
        (
            {"manage_stock": True, "stock_quantity": -3},
            "negative stock (-3) sent as 0",
            lambda p: p["quantities"] == [{"available_quantity": 0}],
        ),
        (
            {"images": [{"src": "ftp://example.com/a.jpg"}, {"src": "https://example.com/b.jpg"}]},
            "1 image without an http(s) address not sent",
            lambda p: p["images"] == [{"url": "https://example.com/b.jpg"}],
        ),
    ],
    ids=[
        "title",
        "description",
        "images",
        "attribute value",
        "attribute name",
        "brand",
        "category",
        "negative stock",
        "non-http image",
    ],
)
def test_values_past_the_limits_are_fitted_with_a_warning(
    changes: dict[str, Any], warning: str, check: Callable[[dict[str, Any]], bool]
) -> None:
    result = mapped(simple(**changes))
    assert result.warnings == [warning]
    assert check(result.payload)


def test_values_at_the_limits_are_sent_as_they_are() -> None:
    result = mapped(
        simple(
            name="T" * 255,
            description="D" * 6000,
            images=_many_images(15),
            attributes=[_attribute("A" * 255, "v" * 2000)],
        )
    )
    assert result.warnings == []
    assert result.payload["titles"][0]["value"] == "T" * 255
    assert result.payload["descriptions"][0]["value"] == "D" * 6000
    assert len(result.payload["images"]) == 15
    assert result.payload["attributes"][0]["value"] == "v" * 2000


# --- GTIN --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "gtins", "warnings"),
    [
        ({"global_unique_id": "9780050666319"}, [{"value": "9780050666319"}], []),
        ({"global_unique_id": "12345678"}, [{"value": "12345678"}], []),
        ({"global_unique_id": "012345678905"}, [{"value": "012345678905"}], []),
        ({"global_unique_id": " 978-0-05-066631-9 "}, [{"value": "9780050666319"}], []),
        (
            {"meta_data": [{"id": 1, "key": "_gtin", "value": "0194252034279"}]},
            [{"value": "0194252034279"}],
            [],
        ),
        (
            {"meta_data": [{"id": 1, "key": "_ean", "value": "4006381333931"}]},
            [{"value": "4006381333931"}],
            [],
        ),
        (
            {"meta_data": [{"id": 1, "key": "_global_unique_id", "value": "73513537"}]},
            [{"value": "73513537"}],
            [],
        ),
        ({"global_unique_id": "123"}, [], ["GTIN '123' is not 8, 12 or 13 digits: not sent"]),
        (
            {"global_unique_id": "12345678901234"},
            [],
            ["GTIN '12345678901234' is not 8, 12 or 13 digits: not sent"],
        ),
        (
            {"global_unique_id": "ABC12345"},
            [],
            ["GTIN 'ABC12345' is not 8, 12 or 13 digits: not sent"],
        ),
        ({"global_unique_id": ""}, [], []),
        ({"meta_data": [{"id": 1, "key": "_color", "value": "12345678"}]}, [], []),
    ],
)
def test_gtin_only_when_it_matches_the_spec(
    changes: dict[str, Any], gtins: list[dict[str, str]], warnings: list[str]
) -> None:
    result = mapped(simple(**changes))
    assert result.payload["gtins"] == gtins
    assert result.warnings == warnings


def test_a_variation_has_its_own_gtin_never_the_parents() -> None:
    parent = variable_sample()
    parent["global_unique_id"] = "9780050666319"
    assert mapped(parent, variation(0)).payload["gtins"] == []
    own = variation(0, global_unique_id="4006381333931")
    assert mapped(parent, own).payload["gtins"] == [{"value": "4006381333931"}]


# --- stock -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "options", "quantity"),
    [
        ({"manage_stock": True, "stock_quantity": 42}, {}, 42),
        ({"manage_stock": True, "stock_quantity": 0, "stock_status": "outofstock"}, {}, 0),
        ({"manage_stock": True, "stock_quantity": -5, "backorders": "yes"}, {}, 0),
        ({"manage_stock": False, "stock_status": "instock"}, {}, 10),
        ({"manage_stock": False, "stock_status": "onbackorder"}, {}, 10),
        ({"manage_stock": False, "stock_status": "outofstock"}, {}, 0),
        ({"manage_stock": False, "stock_status": "instock"}, {"unmanaged_stock": 3}, 3),
        ({"manage_stock": False, "stock_status": "outofstock"}, {"unmanaged_stock": 3}, 0),
        ({"manage_stock": False, "stock_status": "instock"}, {"unmanaged_stock": 0}, 0),
    ],
)
def test_quantity_rules(changes: dict[str, Any], options: dict[str, Any], quantity: int) -> None:
    result = mapped(simple(**changes), **options)
    assert result.payload["quantities"] == [{"available_quantity": quantity}]


def test_variation_stock_managed_by_the_parent_uses_the_parents_stock() -> None:
    parent = variable_sample()
    parent.update(manage_stock=True, stock_quantity=7)
    item = variation(0, manage_stock="parent", stock_quantity=None)
    assert mapped(parent, item).payload["quantities"] == [{"available_quantity": 7}]
    own = variation(0, manage_stock=True, stock_quantity=2)
    assert mapped(parent, own).payload["quantities"] == [{"available_quantity": 2}]


@pytest.mark.parametrize(
    ("warehouse_code", "quantities", "warehouses"),
    [
        ("", [{"available_quantity": 5}], [""]),
        (
            "paris-warehouse",
            [{"available_quantity": 5, "warehouse_code": "paris-warehouse"}],
            ["paris-warehouse"],
        ),
    ],
)
def test_warehouse_code(
    warehouse_code: str, quantities: list[dict[str, Any]], warehouses: list[str]
) -> None:
    result = mapped(simple(manage_stock=True, stock_quantity=5), warehouse_code=warehouse_code)
    assert result.payload["quantities"] == quantities
    assert result.warehouses == warehouses


# --- prices ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "options", "standard", "discount", "warnings"),
    [
        (
            {
                "regular_price": "21.99",
                "sale_price": "15",
                "price": "15",
                "date_on_sale_from_gmt": "2025-01-01T10:00:00",
                "date_on_sale_to_gmt": "2025-02-01T22:59:59",
            },
            {},
            21.99,
            [
                {
                    "price": {"amount": 15.0, "currency": "USD"},
                    "start_date": "2025-01-01T10:00:00Z",
                    "end_date": "2025-02-01T22:59:59Z",
                }
            ],
            [],
        ),
        (
            {"regular_price": "21.99", "sale_price": "15.50", "price": "15.50"},
            {},
            21.99,
            [{"price": {"amount": 15.5, "currency": "USD"}}],
            [],
        ),
        (
            {
                "regular_price": "21.99",
                "sale_price": "15",
                "date_on_sale_from_gmt": None,
                "date_on_sale_to_gmt": "2025-02-01T12:00:00+02:00",
            },
            {},
            21.99,
            [{"price": {"amount": 15.0, "currency": "USD"}, "end_date": "2025-02-01T10:00:00Z"}],
            [],
        ),
        (
            {"regular_price": "21.99", "sale_price": "15", "price": "15"},
            {"price_mode": "current"},
            15.0,
            None,
            [],
        ),
        (
            {"regular_price": "21.99", "sale_price": "", "price": "21.99"},
            {},
            21.99,
            None,
            [],
        ),
        (
            {"regular_price": "", "sale_price": "", "price": ""},
            {},
            None,
            None,
            ["no regular price: standard price not sent"],
        ),
        (
            {"regular_price": "abc", "sale_price": ""},
            {},
            None,
            None,
            ["invalid regular price 'abc': standard price not sent"],
        ),
        (
            {"regular_price": "-4", "sale_price": ""},
            {},
            None,
            None,
            ["invalid regular price '-4': standard price not sent"],
        ),
        (
            {"regular_price": "20", "sale_price": "cheap"},
            {},
            20.0,
            None,
            ["invalid sale price 'cheap': discount price not sent"],
        ),
        (
            {"regular_price": "20", "sale_price": "10", "date_on_sale_from_gmt": "soon"},
            {},
            20.0,
            [{"price": {"amount": 10.0, "currency": "USD"}}],
            ["invalid sale start date 'soon': sent without it"],
        ),
        (
            {"price": "", "regular_price": "20"},
            {"price_mode": "current"},
            None,
            None,
            ["no price: standard price not sent"],
        ),
    ],
    ids=[
        "sale with dates",
        "sale without dates",
        "sale with an end date and an offset",
        "current price mode",
        "no sale",
        "no price at all",
        "invalid regular price",
        "negative regular price",
        "invalid sale price",
        "invalid sale date",
        "current mode without a price",
    ],
)
def test_prices(
    changes: dict[str, Any],
    options: dict[str, Any],
    standard: float | None,
    discount: list[dict[str, Any]] | None,
    warnings: list[str],
) -> None:
    result = mapped(simple(**changes), **options)
    if standard is None:
        assert "standard_prices" not in result.payload
    else:
        assert result.payload["standard_prices"] == [
            {"price": {"amount": standard, "currency": "USD"}}
        ]
    # None clears a discount that ended in WooCommerce (the upsert keeps what is omitted).
    assert result.payload["discount_prices"] == discount
    assert result.warnings == warnings


def test_prices_use_the_store_currency() -> None:
    result = mapped(simple(), store=StoreContext(currency="EUR", locale="fr_FR"))
    assert result.payload["standard_prices"] == [{"price": {"amount": 21.99, "currency": "EUR"}}]


def test_no_prices_without_a_store_currency() -> None:
    result = mapped(simple(sale_price="10"), store=StoreContext(currency="", locale="en_US"))
    assert "standard_prices" not in result.payload
    assert result.payload["discount_prices"] is None
    assert result.warnings == ["the store's currency is unknown: prices not sent"]


# --- text --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p>One.</p>\n<p>Two.</p>\n", "One.\n\nTwo."),
        ("<p>Line one<br />line two</p>", "Line one\nline two"),
        ("<p><strong>Bold</strong> and <em>soft</em></p>", "Bold and soft"),
        ("Fish &amp; chips&nbsp;&#8211; &lt;b&gt;", "Fish & chips – <b>"),
        ("<ul><li>Cotton</li><li>Machine wash</li></ul>", "- Cotton\n- Machine wash"),
        ("<h2>Care</h2><p>Wash cold.</p>", "Care\n\nWash cold."),
        ("<style>p{color:red}</style><p>Shown</p><script>alert(1)</script>", "Shown"),
        ("First paragraph\n\nSecond   paragraph", "First paragraph\n\nSecond paragraph"),
        ("  ", ""),
    ],
)
def test_html_is_stripped_to_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"description": "<p>Long</p>", "short_description": "<p>Short</p>"}, "Long"),
        ({"description": "", "short_description": "<p>Short</p>"}, "Short"),
        ({"description": "<p> </p>", "short_description": "<p>Short</p>"}, "Short"),
    ],
)
def test_description_falls_back_to_the_short_description(
    changes: dict[str, Any], expected: str
) -> None:
    assert mapped(simple(**changes)).payload["descriptions"] == [
        {"locale": "en_US", "value": expected}
    ]


def test_no_description_clears_it() -> None:
    result = mapped(simple(description="", short_description=""))
    assert result.payload["descriptions"] is None


def test_names_with_html_entities_read_as_text() -> None:
    result = mapped(simple(name="Tees &amp; Tops"))
    assert result.payload["titles"] == [{"locale": "en_US", "value": "Tees & Tops"}]


def test_a_variation_with_its_own_description_uses_it() -> None:
    item = variation(0, description="<p>Green, <em>organic</em> dye.</p>")
    payload = mapped(variable_sample(), item).payload
    assert payload["descriptions"] == [{"locale": "en_US", "value": "Green, organic dye."}]


@pytest.mark.parametrize(
    ("store_locale", "option", "expected"),
    [
        ("en_US", "", "en_US"),
        ("de_DE_formal", "", "de_DE"),
        ("fr", "", "fr"),
        ("", "", "en_US"),
        ("en_US", "fr_FR", "fr_FR"),
    ],
)
def test_locale_of_titles_descriptions_and_category(
    store_locale: str, option: str, expected: str
) -> None:
    payload = mapped(simple(), store=StoreContext("USD", store_locale), locale=option).payload
    assert payload["titles"][0]["locale"] == expected
    assert payload["descriptions"][0]["locale"] == expected
    assert payload["category"]["labels"][0]["locale"] == expected


# --- variations: title, images, attributes -----------------------------------------------------


def test_variation_title_lists_every_option() -> None:
    item = variation(
        1,
        attributes=[
            {"id": 6, "name": "Color", "option": "Black"},
            {"id": 0, "name": "Size", "option": "M"},
        ],
    )
    result = mapped(variable_sample(), item)
    assert result.payload["titles"][0]["value"] == "Ship Your Idea – Black, M"
    assert result.payload["attributes"] == [
        {"id": "color", "name": "Color", "type": "STRING", "value": "Black"},
        {"id": "size", "name": "Size", "type": "STRING", "value": "M"},
    ]


def test_variation_attributes_come_before_the_parents_own() -> None:
    parent = variable_sample()
    parent["attributes"].append(_attribute("Fabric Weight", "180 g/m²"))
    payload = mapped(parent, variation(0)).payload
    assert payload["attributes"] == [
        {"id": "color", "name": "Color", "type": "STRING", "value": "Green"},
        {"id": "fabric-weight", "name": "Fabric Weight", "type": "STRING", "value": "180 g/m²"},
    ]


def test_simple_product_attributes_join_their_options() -> None:
    product = simple(
        attributes=[
            {"id": 1, "name": "Material", "options": ["Cotton", "Linen"], "variation": False},
            {"id": 2, "name": "Pays d’origine", "options": ["France"], "variation": False},
            {"id": 3, "name": "Empty", "options": [], "variation": False},
        ]
    )
    assert mapped(product).payload["attributes"] == [
        {"id": "material", "name": "Material", "type": "STRING", "value": "Cotton, Linen"},
        {"id": "pays-d-origine", "name": "Pays d’origine", "type": "STRING", "value": "France"},
    ]


@pytest.mark.parametrize(
    ("image", "expected_first", "count"),
    [
        (
            {"src": "https://example.com/variation.jpg"},
            "https://example.com/variation.jpg",
            5,
        ),
        # The variation's image is also one of the parent's: sent once, first.
        (
            {"src": "https://example.com/wp-content/uploads/2017/03/T_3_front-10.jpg"},
            "https://example.com/wp-content/uploads/2017/03/T_3_front-10.jpg",
            4,
        ),
        (None, "https://example.com/wp-content/uploads/2017/03/T_4_front-11.jpg", 4),
    ],
    ids=["own image", "image shared with the parent", "no image"],
)
def test_variation_image_comes_first_then_the_parents(
    image: dict[str, str] | None, expected_first: str, count: int
) -> None:
    urls = [
        i["url"] for i in mapped(variable_sample(), variation(0, image=image)).payload["images"]
    ]
    assert urls[0] == expected_first
    assert len(urls) == len(set(urls)) == count


# --- brand and category ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "brand"),
    [
        ({"brands": [{"id": 4, "name": "Acme &amp; Co", "slug": "acme"}]}, "Acme & Co"),
        ({"attributes": [_attribute("Brand", "Woo")]}, "Woo"),
        (
            {"attributes": [{"id": 9, "name": "pa_brand", "options": ["Woo"], "variation": False}]},
            "Woo",
        ),
        (
            {"attributes": [{"id": 9, "name": "Marque", "slug": "pa_brand", "options": ["Woo"]}]},
            "Woo",
        ),
        (
            {"brands": [{"id": 4, "name": "Acme"}], "attributes": [_attribute("Brand", "Woo")]},
            "Acme",
        ),
        ({}, None),
    ],
    ids=["brands list", "Brand attribute", "pa_brand", "pa_brand slug", "brands first", "none"],
)
def test_brand(changes: dict[str, Any], brand: str | None) -> None:
    assert mapped(simple(**changes)).payload["brand"] == brand


def test_category_is_the_first_one_and_null_without_any() -> None:
    assert mapped(simple(categories=[{"id": 14, "name": "T-shirts", "slug": "t"}])).payload[
        "category"
    ] == {"id": "14", "labels": [{"locale": "en_US", "value": "T-shirts"}]}
    assert mapped(simple(categories=[])).payload["category"] is None


# --- payloads for the ledger -------------------------------------------------------------------


def test_payload_hash_is_stable_across_key_order() -> None:
    payload = mapped(simple()).payload
    reordered = json.loads(json.dumps(dict(reversed(list(payload.items())))))
    reordered["quantities"] = [dict(reversed(list(row.items()))) for row in payload["quantities"]]
    assert list(reordered) != list(payload)
    assert payload_hash(reordered) == payload_hash(payload)
    assert len(payload_hash(payload)) == 64


def test_payload_hash_changes_with_the_product() -> None:
    before = mapped(simple())
    again = mapped(simple())
    after = mapped(simple(regular_price="22.99"))
    assert before.payload_hash == again.payload_hash
    assert after.payload_hash != before.payload_hash


@pytest.mark.parametrize(
    ("warehouses", "quantities"),
    [
        ([""], [{"available_quantity": 0}]),
        ([], [{"available_quantity": 0}]),
        (["paris"], [{"available_quantity": 0, "warehouse_code": "paris"}]),
        (
            ["", "paris", "paris", "lyon"],
            [
                {"available_quantity": 0},
                {"available_quantity": 0, "warehouse_code": "paris"},
                {"available_quantity": 0, "warehouse_code": "lyon"},
            ],
        ),
    ],
)
def test_zero_stock_payload(warehouses: list[str], quantities: list[dict[str, Any]]) -> None:
    payload = zero_stock_payload("PQ-794", warehouses)
    assert payload == {"id": "PQ-794", "quantities": quantities}
    assert_valid(payload)


def test_zero_stock_payload_matches_what_was_pushed() -> None:
    result = mapped(simple(), warehouse_code="paris")
    assert zero_stock_payload(result.mirakl_id, result.warehouses) == {
        "id": "PQ-794",
        "quantities": [{"available_quantity": 0, "warehouse_code": "paris"}],
    }


@pytest.mark.parametrize(
    "payload",
    [
        {"id": ""},
        {"id": "A", "images": [{"url": f"https://e.com/{n}.jpg"} for n in range(16)]},
        {"id": "A", "titles": [{"locale": "en_US", "value": "T" * 256}]},
        {"id": "A", "gtins": [{"value": "123"}]},
        {"id": "A", "quantities": [{"available_quantity": -1}]},
        {"id": "A", "standard_prices": [{"price": {"amount": "21.99", "currency": "USD"}}]},
        {
            "id": "A",
            "attributes": [{"id": "a", "name": "A", "type": "STRING", "value": "v" * 2001}],
        },
    ],
    ids=["empty id", "16 images", "long title", "bad GTIN", "negative", "price as text", "value"],
)
def test_the_spec_check_catches_what_the_spec_forbids(payload: dict[str, Any]) -> None:
    with pytest.raises(AssertionError):
        assert_valid(payload)


def test_a_variations_dated_sale_keeps_its_dates() -> None:
    """A real store's variations carry date_on_sale_from/_to like simple products."""
    item = variation(
        0,
        sku="V-1",
        regular_price="20.00",
        sale_price="15.00",
        date_on_sale_from_gmt="2024-06-01T00:00:00",
        date_on_sale_to_gmt="2099-12-31T23:59:59",
    )
    discount = mapped(variable_sample(), item).payload["discount_prices"]
    assert discount == [
        {
            "price": {"amount": 15.0, "currency": "USD"},
            "start_date": "2024-06-01T00:00:00Z",
            "end_date": "2099-12-31T23:59:59Z",
        }
    ]


def test_variations_of_a_real_store_catalog_map_as_it_means_them() -> None:
    """The sandbox posing as WooCommerce 8.2: inherited SKUs are skipped (they would all
    overwrite the parent's product), parent-managed stock is the parent's quantity."""
    from connector.sandbox.catalog import Catalog

    catalog = Catalog(300)
    options = ProductOptions(statuses=("publish", "private", "draft", "pending"))
    seen_parent_stock = seen_inherited = False
    for parent in catalog.iter_products():
        if parent["type"] != "variable":
            continue
        for item in catalog.variations(parent["id"]):
            result = map_item(parent, item, STORE, options)
            if item["sku"] == parent["sku"]:
                assert isinstance(result, Skipped) and result.reason.startswith("no SKU")
                seen_inherited = True
            elif item["manage_stock"] == "parent" and isinstance(result, MappedProduct):
                expected = max(0, parent["stock_quantity"])
                assert result.payload["quantities"] == [{"available_quantity": expected}]
                seen_parent_stock = True
    assert seen_inherited and seen_parent_stock
