"""WooCommerce product or variation -> Mirakl Connect product: pure functions, no I/O.

One Mirakl Connect product per simple product and per variation of a variable product, its
`id` being the SKU. Values beyond the spec's limits are fitted (with a warning), never refused;
only what cannot be fitted (no SKU) is skipped.

The payload describes the whole product as WooCommerce has it. Mirakl Connect's upsert leaves
omitted fields unchanged, so a value that went away in WooCommerce (a sale that ended, a brand
removed) is sent as `null` or `[]` to clear it there; only `standard_prices` and `quantities`,
which the spec does not let us clear, are left out when there is nothing valid to send.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from connector.product_options import MAX_QUANTITY, ProductOptions

# Limits from the Mirakl Connect spec (components.schemas).
MAX_ID = 256
MAX_TITLE = 255
MAX_DESCRIPTION = 6000
MAX_IMAGES = 15
MAX_LABEL = 255  # brand, category label, attribute id and name
MAX_ATTRIBUTE_VALUE = 2000
MAX_ATTRIBUTES = 1000

GTIN_PATTERN = re.compile(r"^([0-9]{8}|[0-9]{12,13})$")
# Where stores keep a GTIN: WooCommerce 9.2+ has `global_unique_id`; before that, plugins.
GTIN_META_KEYS = (
    "_global_unique_id",
    "_gtin",
    "_ean",
    "_upc",
    "_wpm_gtin_code",
    "hwp_product_gtin",
    "hwp_var_gtin",
    "_alg_ean",
    "_ts_gtin",
)
# The top-level fields `map_item` reads (plus `id`, `type` and `status`, which the sync reads
# too): what the sync asks the store for (`_fields=`), so WooCommerce computes nothing else.
# What a product and a variation both carry: the price (and sale dates), the stock, the id.
_OFFER_FIELDS = (
    "price",
    "regular_price",
    "sale_price",
    "date_on_sale_from_gmt",
    "date_on_sale_to_gmt",
    "manage_stock",
    "stock_quantity",
    "stock_status",
    "global_unique_id",
    "meta_data",
)
PRODUCT_FIELDS = (
    "id",
    "type",
    "status",
    "sku",
    "name",
    "description",
    "short_description",
    "images",
    *_OFFER_FIELDS,
    "categories",
    "brands",
    "attributes",
)
VARIATION_FIELDS = ("id", "status", "sku", "description", "image", "attributes", *_OFFER_FIELDS)
_IMAGE_URL = re.compile(r"^(http|https)://\S+$")
_UNMANAGED_IN_STOCK = {"instock", "onbackorder"}
_SYNCED_TYPES = {"simple"}
_TYPE_REASONS = {
    "variable": "variable product: its variations are pushed one by one",
    "grouped": "grouped product: not a product that can be sold on its own",
    "external": "external product: sold on another site",
}


@dataclass(frozen=True)
class StoreContext:
    """What the mapping needs to know about the store: its currency and language (en_US)."""

    currency: str
    locale: str


@dataclass
class MappedProduct:
    """A WooCommerce item ready to push: the upsert body item and what the ledger keeps."""

    mirakl_id: str
    woo_id: int
    woo_parent_id: int | None
    payload: dict[str, Any]
    warehouses: list[str]
    warnings: list[str] = field(default_factory=list)
    payload_hash: str = ""


@dataclass
class Skipped:
    """A WooCommerce item that is not pushed, and why, in words a merchant understands."""

    woo_id: int
    woo_parent_id: int | None
    name: str
    reason: str


def map_item(
    product: dict[str, Any],
    variation: dict[str, Any] | None,
    store: StoreContext,
    options: ProductOptions,
) -> MappedProduct | Skipped:
    """Map a simple product (`variation` None) or one variation of `product` to Mirakl Connect."""
    item = variation if variation is not None else product
    woo_id = int(item.get("id") or 0)
    parent_id = int(product.get("id") or 0) if variation is not None else None
    name = _variation_title(product, variation) if variation is not None else _text(product)

    def skipped(reason: str) -> Skipped:
        return Skipped(woo_id=woo_id, woo_parent_id=parent_id, name=name, reason=reason)

    kind = str(product.get("type") or "simple")
    if variation is None and kind not in _SYNCED_TYPES:
        return skipped(_TYPE_REASONS.get(kind, f"{kind} product: type not synced"))
    for source in (product, variation) if variation is not None else (product,):
        status = str(source.get("status") or "publish")
        if status not in options.statuses:
            return skipped(f"status {status} not synced")

    sku = str(item.get("sku") or "").strip()
    if variation is not None and sku and sku == str(product.get("sku") or "").strip():
        # WooCommerce shows a variation without its own SKU with the parent's (SKUs are
        # unique, so it cannot really have it): every such variation would overwrite the
        # same Mirakl product. In WordPress admin its SKU field is empty: "no SKU" it is.
        return skipped("no SKU")
    if not sku:
        return skipped("no SKU")
    if len(sku) > MAX_ID:
        return skipped(f"SKU longer than {MAX_ID} characters")

    warnings: list[str] = []
    locale = _mirakl_locale(options.locale or store.locale)
    payload: dict[str, Any] = {"id": sku}

    title = _fit(name, MAX_TITLE, "title", warnings)
    payload["titles"] = [{"locale": locale, "value": title}] if title else None
    if not title:
        warnings.append("no product name: title not sent")

    description = _description(product, variation)
    description = _fit(description, MAX_DESCRIPTION, "description", warnings)
    payload["descriptions"] = [{"locale": locale, "value": description}] if description else None

    payload["images"] = [{"url": url} for url in _images(product, variation, warnings)]

    standard, discounts = _prices(item, store.currency, options, warnings)
    if standard is not None:
        payload["standard_prices"] = standard
    payload["discount_prices"] = discounts

    warehouses = [options.warehouse_code]
    quantity = _quantity(item, product, options, warnings)
    payload["quantities"] = [_quantity_row(quantity, code) for code in warehouses]

    payload["gtins"] = _gtins(item, warnings)
    payload["category"] = _category(product, locale, warnings)
    payload["brand"] = _brand(product, variation, warnings)
    payload["attributes"] = _attributes(product, variation, warnings)

    return MappedProduct(
        mirakl_id=sku,
        woo_id=woo_id,
        woo_parent_id=parent_id,
        payload=payload,
        warehouses=warehouses,
        warnings=warnings,
        payload_hash=payload_hash(payload),
    )


def zero_stock_payload(mirakl_id: str, warehouses: list[str]) -> dict[str, Any]:
    """The upsert item setting every warehouse's quantity to 0 ("" = the row without a code)."""
    codes = list(dict.fromkeys(warehouses)) or [""]
    return {"id": mirakl_id, "quantities": [_quantity_row(0, code) for code in codes]}


def payload_hash(payload: dict[str, Any]) -> str:
    """A stable fingerprint of a payload: sha256 of its canonical JSON (sorted keys)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def html_to_text(markup: str) -> str:
    """Plain text from WooCommerce HTML: tags dropped, entities decoded, paragraphs kept."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return parser.text()


# --- pieces of the payload -------------------------------------------------------------------


def _text(obj: dict[str, Any], key: str = "name") -> str:
    """A plain-text field: WordPress stores names with HTML entities (`Tees &amp; Tops`)."""
    return html.unescape(str(obj.get(key) or "")).strip()


def _variation_title(product: dict[str, Any], variation: dict[str, Any]) -> str:
    options = [_text(a, "option") for a in variation.get("attributes") or []]
    options = [o for o in options if o]
    base = _text(product)
    return f"{base} – {', '.join(options)}" if options and base else base or ", ".join(options)


def _description(product: dict[str, Any], variation: dict[str, Any] | None) -> str:
    sources = [variation.get("description")] if variation is not None else []
    sources += [product.get("description"), product.get("short_description")]
    for raw in sources:
        text = html_to_text(str(raw or ""))
        if text:
            return text
    return ""


def _images(
    product: dict[str, Any], variation: dict[str, Any] | None, warnings: list[str]
) -> list[str]:
    candidates: list[Any] = []
    if variation is not None and isinstance(variation.get("image"), dict):
        candidates.append(variation["image"].get("src"))
    candidates += [i.get("src") for i in product.get("images") or [] if isinstance(i, dict)]
    urls: list[str] = []
    dropped = 0
    for raw in candidates:
        url = str(raw or "").strip()
        if not url:
            continue
        if not _IMAGE_URL.match(url):
            dropped += 1
            continue
        if url not in urls:
            urls.append(url)
    if dropped:
        warnings.append(f"{_plural(dropped, 'image')} without an http(s) address not sent")
    if len(urls) > MAX_IMAGES:
        warnings.append(f"images cut to {MAX_IMAGES} (the product has {len(urls)})")
        urls = urls[:MAX_IMAGES]
    return urls


def _prices(
    item: dict[str, Any], currency: str, options: ProductOptions, warnings: list[str]
) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
    """(standard_prices or None to leave out, discount_prices or None to clear)."""
    currency = currency.strip().upper()
    if not currency:
        warnings.append("the store's currency is unknown: prices not sent")
        return None, None

    key = "regular_price" if options.price_mode == "regular_with_sale" else "price"
    label = "regular price" if key == "regular_price" else "price"
    standard: list[dict[str, Any]] | None = None
    amount = _amount(item.get(key))
    if amount is None:
        shown = str(item.get(key) or "").strip()
        why = f"invalid {label} {shown!r}" if shown else f"no {label}"
        warnings.append(f"{why}: standard price not sent")
    else:
        standard = [{"price": {"amount": amount, "currency": currency}}]

    if options.price_mode != "regular_with_sale":
        return standard, None
    raw_sale = str(item.get("sale_price") or "").strip()
    if not raw_sale:
        return standard, None
    sale = _amount(raw_sale)
    if sale is None:
        warnings.append(f"invalid sale price {raw_sale!r}: discount price not sent")
        return standard, None
    discount: dict[str, Any] = {"price": {"amount": sale, "currency": currency}}
    dates = (("start", "date_on_sale_from_gmt"), ("end", "date_on_sale_to_gmt"))
    for which, date_key in dates:
        raw_date = item.get(date_key)
        if not raw_date:
            continue
        when = _utc(raw_date)
        if when is None:
            warnings.append(f"invalid sale {which} date {raw_date!r}: sent without it")
        else:
            discount[f"{which}_date"] = when
    return standard, [discount]


def _quantity(
    item: dict[str, Any], product: dict[str, Any], options: ProductOptions, warnings: list[str]
) -> int:
    source = item
    managed = item.get("manage_stock")
    if managed == "parent":
        source, managed = product, True
    if managed is True:
        raw = source.get("stock_quantity")
        try:
            quantity = math.floor(float(raw))
        except (TypeError, ValueError, OverflowError):
            warnings.append(f"stock quantity {raw!r} is not a number: sent as 0")
            return 0
        if quantity < 0:
            warnings.append(f"negative stock ({quantity}) sent as 0")
            return 0
        if quantity > MAX_QUANTITY:
            warnings.append(f"stock cut to {MAX_QUANTITY:,}")
            return MAX_QUANTITY
        return quantity
    status = str(source.get("stock_status") or "")
    if status in _UNMANAGED_IN_STOCK:
        return options.unmanaged_stock
    if status != "outofstock":
        warnings.append(f"unknown stock status {status!r}: sent as 0")
    return 0


def _quantity_row(quantity: int, warehouse_code: str) -> dict[str, Any]:
    row: dict[str, Any] = {"available_quantity": quantity}
    if warehouse_code:
        row["warehouse_code"] = warehouse_code
    return row


def _gtins(item: dict[str, Any], warnings: list[str]) -> list[dict[str, str]]:
    """The item's own GTIN (a variation never borrows its parent's), if it is a valid one."""
    raw = item.get("global_unique_id")
    if raw in (None, ""):
        meta = {m.get("key"): m.get("value") for m in item.get("meta_data") or []}
        raw = next((meta[k] for k in GTIN_META_KEYS if meta.get(k) not in (None, "")), None)
    if raw in (None, ""):
        return []
    shown = str(raw).strip()
    gtin = re.sub(r"[\s-]", "", shown)
    if GTIN_PATTERN.match(gtin):
        return [{"value": gtin}]
    warnings.append(f"GTIN {shown!r} is not 8, 12 or 13 digits: not sent")
    return []


def _category(product: dict[str, Any], locale: str, warnings: list[str]) -> dict[str, Any] | None:
    categories = product.get("categories") or []
    if not categories:
        return None
    first = categories[0]
    label = _fit(_text(first), MAX_LABEL, "category name", warnings)
    category: dict[str, Any] = {"labels": [{"locale": locale, "value": label}] if label else []}
    if first.get("id") not in (None, ""):
        category = {"id": str(first["id"])[:MAX_LABEL], **category}
    return category


def _brand(
    product: dict[str, Any], variation: dict[str, Any] | None, warnings: list[str]
) -> str | None:
    names = [_text(b) for b in product.get("brands") or [] if isinstance(b, dict)]
    if variation is not None:
        names += [_text(a, "option") for a in variation.get("attributes") or [] if _is_brand(a)]
    for attribute in product.get("attributes") or []:
        if _is_brand(attribute):
            names += [html.unescape(str(o)).strip() for o in attribute.get("options") or []]
    brand = next((n for n in names if n), "")
    return _fit(brand, MAX_LABEL, "brand", warnings) or None


def _is_brand(attribute: dict[str, Any]) -> bool:
    name = str(attribute.get("name") or "").strip().lower()
    return name in ("brand", "pa_brand") or attribute.get("slug") == "pa_brand"


def _attributes(
    product: dict[str, Any], variation: dict[str, Any] | None, warnings: list[str]
) -> list[dict[str, Any]]:
    pairs: list[tuple[str, str]] = []
    if variation is not None:
        pairs += [(_text(a), _text(a, "option")) for a in variation.get("attributes") or []]
    for attribute in product.get("attributes") or []:
        # On a variation, the parent's variation attributes are the variation's own options
        # (already above) or "any" value: the parent's whole option list would be wrong.
        if variation is not None and attribute.get("variation"):
            continue
        values = [html.unescape(str(o)).strip() for o in attribute.get("options") or []]
        pairs.append((_text(attribute), ", ".join(v for v in values if v)))

    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    cut_names: list[str] = []
    cut_values: list[str] = []
    for name, value in pairs:
        if not name or not value:
            continue
        attribute_id = _slug(name)[:MAX_LABEL]
        if attribute_id in seen:
            continue
        seen.add(attribute_id)
        if len(name) > MAX_LABEL:
            cut_names.append(name[:40])
            name = _cut(name, MAX_LABEL)
        if len(value) > MAX_ATTRIBUTE_VALUE:
            cut_values.append(name)
            value = _cut(value, MAX_ATTRIBUTE_VALUE)
        result.append({"id": attribute_id, "name": name, "type": "STRING", "value": value})
    for shown in cut_names:
        warnings.append(f"attribute name {shown!r}… cut to {MAX_LABEL} characters")
    for name in cut_values:
        warnings.append(f"attribute {name!r} value cut to {MAX_ATTRIBUTE_VALUE} characters")
    if len(result) > MAX_ATTRIBUTES:
        warnings.append(f"attributes cut to {MAX_ATTRIBUTES} (the product has {len(result)})")
        result = result[:MAX_ATTRIBUTES]
    return result


# --- small helpers ---------------------------------------------------------------------------


def _fit(text: str, limit: int, what: str, warnings: list[str]) -> str:
    if len(text) <= limit:
        return text
    warnings.append(f"{what} cut to {limit} characters")
    return _cut(text, limit)


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters, ending with an ellipsis so the cut is visible."""
    return text[: limit - 1].rstrip() + "…"


def _amount(raw: Any) -> float | None:
    """A price as a number, or None when it is empty, not a number, or negative."""
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        amount = float(str(raw).strip())
    except ValueError:
        return None
    if not math.isfinite(amount) or amount < 0:
        return None
    return amount


def _utc(raw: Any) -> str | None:
    """WooCommerce's `*_gmt` date (no offset, already UTC) as ISO 8601 with a Z."""
    try:
        when = datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _mirakl_locale(raw: str) -> str:
    """en_US from WordPress locales such as en_US, de_DE_formal or fr; en_US when unknown."""
    parts = [p for p in raw.strip().replace("-", "_").split("_") if p]
    if not parts:
        return "en_US"
    if len(parts) >= 2 and len(parts[1]) == 2:
        return f"{parts[0].lower()}_{parts[1].upper()}"
    return parts[0].lower()


def _slug(name: str) -> str:
    """`Pays d’origine` -> `pays-d-origine`: accents dropped, letters of any script kept."""
    decomposed = unicodedata.normalize("NFKD", name.lower())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    slug = re.sub(r"[\W_]+", "-", unicodedata.normalize("NFC", bare)).strip("-")
    return slug or name.strip().lower()


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment, turning blocks into paragraphs and <br> into lines."""

    _PARAGRAPH = (
        {"p", "div", "section", "article", "header", "footer", "aside", "blockquote"}
        | {"pre", "ul", "ol", "dl", "table", "figure", "hr"}
        | {f"h{level}" for level in range(1, 7)}
    )
    _LINE = {"br", "li", "tr", "dt", "dd", "figcaption"}
    _CELL = {"td", "th"}
    _HIDDEN = {"script", "style", "template", "noscript"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._PARAGRAPH:
            self._parts.append("\n\n")
        elif tag == "li":
            self._parts.append("\n- ")
        elif tag in self._LINE:
            self._parts.append("\n")
        elif tag in self._CELL:
            self._parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self._HIDDEN:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._PARAGRAPH:
            self._parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        # HTML collapses white space; a blank line in the source is a paragraph (as wpautop).
        for index, chunk in enumerate(re.split(r"\n[ \t\r\xa0]*\n", data)):
            if index:
                self._parts.append("\n\n")
            self._parts.append(re.sub(r"\s+", " ", chunk))

    def text(self) -> str:
        lines = [re.sub(r" {2,}", " ", line).strip() for line in "".join(self._parts).split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
