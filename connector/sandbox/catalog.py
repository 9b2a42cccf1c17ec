"""A deterministic WooCommerce catalog: product N is computed from (seed, N) when asked for.

A `Catalog(100_000)` costs nothing until a page is read. Ids are stable: product N has id
`FIRST_ID + STRIDE * N` and its variations take the ids right after it (as WordPress posts
created one after the other would). Tests adjust the catalog with the override methods
(`update_product`, `delete_product`, `add_product` and the same for variations); the generated
part never changes.

Shapes follow WooCommerce's own sample payloads (`shared/specs/woocommerce/`), plus
`global_unique_id` (GTIN, WooCommerce 9.2+) and `low_stock_amount`, and what a real store
answers: a variation without its own SKU shows its parent's, a variation whose parent manages
the stock says `manage_stock: "parent"` with the parent's quantity, variations have dated sales.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, overload

FIRST_ID = 10
STRIDE = 5  # a product and up to 4 generated variations
DEFAULT_BASE_URL = "https://shop.test"
STATUSES = ("publish", "draft", "pending", "private")

# Shares of the generated catalog (each drawn independently per product).
SHARE_VARIABLE = 0.20
SHARE_DRAFT = 0.05
SHARE_PRIVATE = 0.02
SHARE_PENDING = 0.01
SHARE_NO_SKU = 0.03
SHARE_GTIN = 0.55
SHARE_MANY_IMAGES = 0.01
SHARE_NO_IMAGE = 0.03
SHARE_LONG_TITLE = 0.01
SHARE_LONG_DESCRIPTION = 0.01
SHARE_NEGATIVE_STOCK = 0.01
SHARE_SALE_WITH_DATES = 0.08
SHARE_SALE_NO_DATES = 0.04
SHARE_PARENT_STOCK = 0.30  # variable products whose parent manages the stock
SHARE_VARIATION_SALE = 0.10
SHARE_VARIATION_SALE_DATED = 0.5  # of the variations on sale

_EPOCH = datetime(2023, 1, 2, 9, 0, 0, tzinfo=UTC)
_MASK64 = (1 << 64) - 1

# Salts for the independent draws of one product.
_S_KIND, _S_STATUS, _S_SKU, _S_VARIATIONS, _S_RNG, _S_PARENT_STOCK = range(1, 7)

_ADJECTIVES = (
    "Classic",
    "Organic",
    "Premium",
    "Vintage",
    "Urban",
    "Essential",
    "Coastal",
    "Alpine",
    "Soft",
    "Everyday",
    "Heritage",
    "Minimal",
    "Rugged",
    "Summer",
    "Winter",
    "Nordic",
)
_MATERIALS = (
    "Cotton",
    "Linen",
    "Wool",
    "Leather",
    "Denim",
    "Bamboo",
    "Ceramic",
    "Oak",
    "Steel",
    "Canvas",
    "Cashmere",
    "Recycled",
)
_NOUNS = (
    ("T-Shirt", 9, 14),
    ("Hoodie", 9, 15),
    ("Scarf", 19, 0),
    ("Cap", 19, 0),
    ("Mug", 20, 0),
    ("Backpack", 19, 0),
    ("Jacket", 9, 0),
    ("Socks", 9, 0),
    ("Poster", 21, 0),
    ("Notebook", 21, 0),
    ("Lamp", 20, 0),
    ("Tote Bag", 19, 0),
    ("Sneakers", 22, 0),
    ("Belt", 19, 0),
    ("Vinyl Album", 16, 0),
    ("Water Bottle", 20, 0),
)
_CATEGORIES = {
    9: ("Clothing", "clothing"),
    14: ("T-shirts", "t-shirts"),
    15: ("Hoodies", "hoodies"),
    16: ("Music", "music"),
    19: ("Accessories", "accessories"),
    20: ("Home", "home"),
    21: ("Stationery", "stationery"),
    22: ("Shoes", "shoes"),
}
_TAGS = (
    (31, "New", "new"),
    (32, "Bestseller", "bestseller"),
    (33, "Eco", "eco"),
    (34, "Gift idea", "gift-idea"),
    (35, "Limited", "limited"),
)
_BRANDS = ("Acme", "Northwind", "Fabrikam", "Contoso", "Globex", "Initech")
_COLORS = ("Black", "White", "Green", "Blue", "Red", "Grey", "Navy", "Yellow")
_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
_LOREM = (
    "Pellentesque habitant morbi tristique senectus et netus et malesuada fames ac turpis "
    "egestas. Vestibulum tortor quam, feugiat vitae, ultricies eget, tempor sit amet, ante. "
    "Donec eu libero sit amet quam egestas semper. Aenean ultricies mi vitae est."
)
_COLOR_ATTRIBUTE = (6, "Color")
_SIZE_ATTRIBUTE = (7, "Size")


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _draw(seed: int, n: int, salt: int) -> float:
    """A uniform number in [0, 1) that depends only on (seed, n, salt): cheap enough to scan."""
    return _splitmix64(_splitmix64(_splitmix64(seed & _MASK64) ^ n) ^ salt) / 2.0**64


def gtin_check_digit(body: str) -> str:
    """The GS1 check digit for the digits before it (GTIN-8/12/13/14)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def _gtin(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.75:  # EAN-13 with a European prefix
        body = rng.choice(("30", "37", "40", "42", "50", "80")) + "".join(
            rng.choice("0123456789") for _ in range(10)
        )
    elif roll < 0.93:  # UPC-A
        body = "0" + "".join(rng.choice("0123456789") for _ in range(10))
    elif roll < 0.99:  # EAN-8
        body = "".join(rng.choice("0123456789") for _ in range(7))
    else:  # GTIN-14: valid for WooCommerce, not every marketplace takes it
        body = "1" + "".join(rng.choice("0123456789") for _ in range(12))
    return body + gtin_check_digit(body)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _dated_sale(rng: random.Random) -> tuple[dict[str, str], bool]:
    """The dates of a dated sale, and whether it is scheduled for later (a quarter are):
    the others run now, until far in the future."""
    scheduled = rng.random() < 0.25
    start = datetime(2099, 1, 1) if scheduled else datetime(2024, 6, 1)
    end = datetime(2099, 12, 31, 23, 59, 59)
    dates = {
        "date_on_sale_from": _iso(start),
        "date_on_sale_from_gmt": _iso(start),
        "date_on_sale_to": _iso(end),
        "date_on_sale_to_gmt": _iso(end),
    }
    return dates, scheduled


def _money(value: float) -> str:
    return f"{value:.2f}"


def _price_html(price: str) -> str:
    if not price:
        return ""
    return (
        '<span class="woocommerce-Price-amount amount"><bdi>'
        f'{price}&nbsp;<span class="woocommerce-Price-currencySymbol">&euro;</span>'
        "</bdi></span>"
    )


def _image(image_id: int, src: str, created: datetime, name: str = "") -> dict[str, Any]:
    return {
        "id": image_id,
        "date_created": _iso(created),
        "date_created_gmt": _iso(created),
        "date_modified": _iso(created),
        "date_modified_gmt": _iso(created),
        "src": src,
        "name": name,
        "alt": "",
    }


class _IdView(Sequence[int]):
    """The ids of the generated products minus deleted ones, then added ones; no list built."""

    def __init__(self, size: int, deleted: list[int], added: list[int]) -> None:
        self._size = size
        self._deleted = deleted  # sorted indexes of deleted generated products
        self._added = added  # sorted ids
        self._generated = size - len(deleted)

    def __len__(self) -> int:
        return self._generated + len(self._added)

    def _index_of_kth_kept(self, k: int) -> int:
        # Least n with exactly k+1 kept indexes in [0, n]; that n is never itself deleted.
        n = k
        while True:
            m = k + bisect.bisect_right(self._deleted, n)
            if m == n:
                return n
            n = m

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> list[int]: ...

    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        if index < self._generated:
            return FIRST_ID + STRIDE * self._index_of_kth_kept(index)
        return self._added[index - self._generated]


class Catalog:
    """A seeded WooCommerce catalog of `size` products (simple products and variable parents).

    Roughly 80 % simple, 20 % variable with 2–4 variations; some without SKU, some drafts,
    private or pending, some with a GTIN in `global_unique_id`, a few with more than 15
    images, a very long title or description, negative stock, or a sale price with dates.
    """

    def __init__(self, size: int, seed: int = 0) -> None:
        if size < 0:
            raise ValueError("size must be 0 or more")
        self.size = size
        self.seed = seed
        self._next_id = FIRST_ID + STRIDE * size
        self._deleted: list[int] = []  # sorted indexes of deleted generated products
        self._product_fields: dict[int, dict[str, Any]] = {}
        self._added: dict[int, dict[str, Any]] = {}  # id -> fields of products added by tests
        self._variation_fields: dict[int, dict[str, Any]] = {}
        self._deleted_variations: set[int] = set()
        self._added_variations: dict[int, list[int]] = {}  # product id -> added variation ids
        self._variation_parent: dict[int, int] = {}  # added variation id -> product id
        self._version = 0
        self._status_cache: dict[str, tuple[int, list[int]]] = {}

    # --- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.size - len(self._deleted) + len(self._added)

    def product_ids(self, status: str = "any") -> Sequence[int]:
        """Ids in ascending order (oldest first); `status` as WooCommerce's filter."""
        view = _IdView(self.size, self._deleted, sorted(self._added))
        if status == "any":
            return view
        if status not in STATUSES:
            return []
        cached = self._status_cache.get(status)
        if cached is not None and cached[0] == self._version:
            return cached[1]
        ids = [pid for pid in view if self._status(pid) == status]
        self._status_cache[status] = (self._version, ids)
        return ids

    def has_product(self, product_id: int) -> bool:
        return product_id in self._added or self._generated_index(product_id) is not None

    def product(
        self, product_id: int, *, base_url: str = DEFAULT_BASE_URL
    ) -> dict[str, Any] | None:
        """The product as `GET /products/<id>` shows it, or None when there is no such product."""
        if product_id in self._added:
            kind = str(self._added[product_id].get("type", "simple"))
            product = self._build_product(
                product_id,
                self._rng(product_id),
                kind=kind,
                status="publish",
                has_sku=True,
                base_url=base_url,
                variation_count=0,
            )
            product.update(self._added[product_id])
        else:
            n = self._generated_index(product_id)
            if n is None:
                return None
            kind, status, has_sku, count = self._traits(n)
            product = self._build_product(
                product_id,
                self._rng(n),
                kind=kind,
                status=status,
                has_sku=has_sku,
                base_url=base_url,
                variation_count=count,
            )
            product.update(self._product_fields.get(product_id, {}))
        if "variations" not in self._product_fields.get(product_id, {}):
            product["variations"] = self.variation_ids(product_id)
        return product

    def iter_products(
        self, *, status: str = "any", base_url: str = DEFAULT_BASE_URL
    ) -> Iterator[dict[str, Any]]:
        for product_id in self.product_ids(status):
            product = self.product(product_id, base_url=base_url)
            if product is not None:
                yield product

    def variation_ids(self, product_id: int) -> list[int]:
        """The product's variation ids, ascending; empty for a simple or unknown product."""
        ids: list[int] = []
        n = self._generated_index(product_id)
        if n is not None:
            ids = [product_id + 1 + i for i in range(self._traits(n)[3])]
        ids += self._added_variations.get(product_id, [])
        return [vid for vid in ids if vid not in self._deleted_variations]

    def variation(
        self, product_id: int, variation_id: int, *, base_url: str = DEFAULT_BASE_URL
    ) -> dict[str, Any] | None:
        if variation_id not in self.variation_ids(product_id):
            return None
        parent = self.product(product_id, base_url=base_url)
        assert parent is not None
        position = variation_id - product_id - 1
        if variation_id in self._variation_parent:
            variation = self._build_variation(parent, variation_id, None, base_url)
        else:
            variation = self._build_variation(parent, variation_id, position, base_url)
        variation.update(self._variation_fields.get(variation_id, {}))
        return variation

    def variations(
        self, product_id: int, *, base_url: str = DEFAULT_BASE_URL
    ) -> list[dict[str, Any]]:
        found = (
            self.variation(product_id, vid, base_url=base_url)
            for vid in self.variation_ids(product_id)
        )
        return [v for v in found if v is not None]

    # --- overrides for tests ------------------------------------------------------------

    def update_product(self, product_id: int, **fields: Any) -> dict[str, Any]:
        """Change fields of a product (shallow); `date_modified` moves to now unless given."""
        if not self.has_product(product_id):
            raise KeyError(product_id)
        fields = self._stamped(fields)
        target = (
            self._added[product_id]
            if product_id in self._added
            else (self._product_fields.setdefault(product_id, {}))
        )
        target.update(fields)
        self._touch()
        return self._must_product(product_id)

    def delete_product(self, product_id: int) -> None:
        """Remove a product and its variations, as a permanent delete (`force=true`) does."""
        if product_id in self._added:
            del self._added[product_id]
        else:
            n = self._generated_index(product_id)
            if n is None:
                raise KeyError(product_id)
            bisect.insort(self._deleted, n)
        self._product_fields.pop(product_id, None)
        for vid in self._added_variations.pop(product_id, []):
            self._variation_parent.pop(vid, None)
            self._variation_fields.pop(vid, None)
        self._touch()

    def add_product(self, **fields: Any) -> dict[str, Any]:
        """A new product with the next free id (after every existing one); returns it."""
        product_id = self._allocate_id()
        fields.setdefault("type", "simple")
        fields.setdefault("sku", f"NEW-{product_id}")
        self._added[product_id] = self._stamped(fields, created=True)
        self._touch()
        return self._must_product(product_id)

    def update_variation(self, product_id: int, variation_id: int, **fields: Any) -> dict[str, Any]:
        if variation_id not in self.variation_ids(product_id):
            raise KeyError(variation_id)
        self._variation_fields.setdefault(variation_id, {}).update(self._stamped(fields))
        self._touch()
        variation = self.variation(product_id, variation_id)
        assert variation is not None
        return variation

    def delete_variation(self, product_id: int, variation_id: int) -> None:
        if variation_id not in self.variation_ids(product_id):
            raise KeyError(variation_id)
        self._deleted_variations.add(variation_id)
        self._variation_fields.pop(variation_id, None)
        self._touch()

    def add_variation(self, product_id: int, **fields: Any) -> dict[str, Any]:
        """A new variation of an existing product (its type is not changed); returns it."""
        if not self.has_product(product_id):
            raise KeyError(product_id)
        variation_id = self._allocate_id()
        self._added_variations.setdefault(product_id, []).append(variation_id)
        self._variation_parent[variation_id] = product_id
        fields.setdefault("sku", f"NEW-{product_id}-{variation_id}")
        self._variation_fields[variation_id] = self._stamped(fields, created=True)
        self._touch()
        variation = self.variation(product_id, variation_id)
        assert variation is not None
        return variation

    # --- internals ----------------------------------------------------------------------

    def _touch(self) -> None:
        self._version += 1

    def _allocate_id(self) -> int:
        allocated = self._next_id
        self._next_id += 1
        return allocated

    def _must_product(self, product_id: int) -> dict[str, Any]:
        product = self.product(product_id)
        assert product is not None
        return product

    @staticmethod
    def _stamped(fields: dict[str, Any], *, created: bool = False) -> dict[str, Any]:
        now = _iso(datetime.now(UTC))
        stamped = dict(fields)
        keys = ["date_modified", "date_modified_gmt"]
        if created:
            keys += ["date_created", "date_created_gmt"]
        for key in keys:
            stamped.setdefault(key, now)
        return stamped

    def _generated_index(self, product_id: int) -> int | None:
        offset = product_id - FIRST_ID
        if offset < 0 or offset % STRIDE or offset // STRIDE >= self.size:
            return None
        n = offset // STRIDE
        i = bisect.bisect_left(self._deleted, n)
        if i < len(self._deleted) and self._deleted[i] == n:
            return None
        return n

    def _traits(self, n: int) -> tuple[str, str, bool, int]:
        """(type, status, has SKU, variation count): the draws a listing may need to scan."""
        kind = "variable" if _draw(self.seed, n, _S_KIND) < SHARE_VARIABLE else "simple"
        status = self._generated_status(n)
        has_sku = _draw(self.seed, n, _S_SKU) >= SHARE_NO_SKU
        count = 2 + int(_draw(self.seed, n, _S_VARIATIONS) * 3) if kind == "variable" else 0
        return kind, status, has_sku, count

    def _generated_status(self, n: int) -> str:
        roll = _draw(self.seed, n, _S_STATUS)
        if roll < SHARE_DRAFT:
            return "draft"
        if roll < SHARE_DRAFT + SHARE_PRIVATE:
            return "private"
        if roll < SHARE_DRAFT + SHARE_PRIVATE + SHARE_PENDING:
            return "pending"
        return "publish"

    def _status(self, product_id: int) -> str:
        fields = self._added.get(product_id) or self._product_fields.get(product_id) or {}
        if "status" in fields:
            return str(fields["status"])
        if product_id in self._added:
            return "publish"
        n = self._generated_index(product_id)
        return self._generated_status(n) if n is not None else ""

    def _rng(self, n: int) -> random.Random:
        return random.Random(_splitmix64(int(_draw(self.seed, n, _S_RNG) * 2**53)))

    def _build_product(
        self,
        product_id: int,
        rng: random.Random,
        *,
        kind: str,
        status: str,
        has_sku: bool,
        base_url: str,
        variation_count: int,
    ) -> dict[str, Any]:
        adjective, material = rng.choice(_ADJECTIVES), rng.choice(_MATERIALS)
        noun, category_id, subcategory_id = rng.choice(_NOUNS)
        name = f"{adjective} {material} {noun}"
        if rng.random() < SHARE_LONG_TITLE:
            name = " ".join(
                [name] + [f"{rng.choice(_ADJECTIVES)} {rng.choice(_MATERIALS)}" for _ in range(24)]
            )
        slug = f"{adjective}-{material}-{noun}".lower().replace(" ", "-") + f"-{product_id}"
        created = _EPOCH + timedelta(minutes=5 * (product_id - FIRST_ID) // STRIDE)
        modified = created + timedelta(days=rng.randint(0, 300), minutes=rng.randint(0, 600))

        paragraphs = 1 + rng.randint(0, 2)
        if rng.random() < SHARE_LONG_DESCRIPTION:
            paragraphs = 80
        description = "".join(f"<p>{_LOREM}</p>\n" for _ in range(paragraphs))
        short_description = f"<p>{material} {noun.lower()} by {rng.choice(_BRANDS)}.</p>\n"

        sku = f"WOO-{product_id:06d}" if has_sku else ""
        gtin = _gtin(rng) if (rng.random() < SHARE_GTIN and kind == "simple") else ""

        regular = round(rng.uniform(4.0, 250.0), 0) - 0.01
        sale = _sale(rng, regular)
        stock = _stock(rng)

        categories = [category_id] + ([subcategory_id] if subcategory_id else [])
        tags = rng.sample(_TAGS, rng.choice((0, 0, 1, 2)))

        image_roll = rng.random()
        if image_roll < SHARE_NO_IMAGE:
            image_count = 0
        elif image_roll < SHARE_NO_IMAGE + SHARE_MANY_IMAGES:
            image_count = rng.randint(16, 24)
        else:
            image_count = rng.randint(1, 4)
        images = [
            _image(
                product_id * 100 + k + 1,
                f"{base_url}/wp-content/uploads/{created:%Y/%m}/{slug}-{k + 1}.jpg",
                created,
                f"{slug}-{k + 1}",
            )
            for k in range(image_count)
        ]

        attributes: list[dict[str, Any]] = [
            {
                "id": 0,
                "name": "Material",
                "slug": "material",
                "position": 0,
                "visible": True,
                "variation": False,
                "options": [material],
            }
        ]
        default_attributes: list[dict[str, Any]] = []
        if kind == "variable":
            attributes = _variation_attributes(rng, variation_count) + attributes
            default_attributes = [
                {"id": a["id"], "name": a["name"], "option": a["options"][0]}
                for a in attributes
                if a["variation"]
            ]

        meta_data: list[dict[str, Any]] = [
            {"id": product_id * 10 + 1, "key": "_brand", "value": rng.choice(_BRANDS)}
        ]
        if rng.random() < 0.1:
            meta_data.append(
                {
                    "id": product_id * 10 + 2,
                    "key": "_custom_note",
                    "value": {"origin": "EU", "batch": rng.randint(1, 99)},
                }
            )

        if kind == "variable":
            pairs = [self._variation_prices(product_id, i) for i in range(variation_count)]
            active = [self._variation_sale(product_id, i, *pair)[1] for i, pair in enumerate(pairs)]
            price = _money(min(float(a) for a in active)) if active else ""
            regular_price = _money(min(float(regular) for regular, _ in pairs)) if pairs else ""
            sale_price = ""
            date_fields = _no_sale_dates()
            on_sale = False
            parent_stock = _draw(self.seed, product_id, _S_PARENT_STOCK) < SHARE_PARENT_STOCK
            if not (parent_stock and stock["manage_stock"] and stock["stock_quantity"] >= 0):
                stock = _unmanaged_parent_stock()
        else:
            regular_price = _money(regular)
            sale_price, price, on_sale, date_fields = sale

        permalink = f"{base_url}/product/{slug}/"
        return {
            "id": product_id,
            "name": name,
            "slug": slug,
            "permalink": permalink,
            "date_created": _iso(created),
            "date_created_gmt": _iso(created),
            "date_modified": _iso(modified),
            "date_modified_gmt": _iso(modified),
            "type": kind,
            "status": status,
            "featured": rng.random() < 0.05,
            "catalog_visibility": "hidden" if rng.random() < 0.02 else "visible",
            "description": description,
            "short_description": short_description,
            "sku": sku,
            "global_unique_id": gtin,
            "price": price,
            "regular_price": regular_price,
            "sale_price": sale_price,
            **date_fields,
            "price_html": _price_html(price),
            "on_sale": on_sale,
            "purchasable": bool(price),
            "total_sales": rng.randint(0, 500),
            "virtual": False,
            "downloadable": False,
            "downloads": [],
            "download_limit": -1,
            "download_expiry": -1,
            "external_url": "",
            "button_text": "",
            "tax_status": "taxable",
            "tax_class": "",
            **stock,
            "low_stock_amount": None,
            "sold_individually": False,
            "weight": f"{rng.uniform(0.05, 3.0):.2f}",
            "dimensions": {"length": "", "width": "", "height": ""},
            "shipping_required": True,
            "shipping_taxable": True,
            "shipping_class": "",
            "shipping_class_id": 0,
            "reviews_allowed": True,
            "average_rating": "0.00",
            "rating_count": 0,
            "related_ids": [],
            "upsell_ids": [],
            "cross_sell_ids": [],
            "parent_id": 0,
            "purchase_note": "",
            "categories": [
                {"id": cid, "name": _CATEGORIES[cid][0], "slug": _CATEGORIES[cid][1]}
                for cid in categories
            ],
            "tags": [{"id": tid, "name": tname, "slug": tslug} for tid, tname, tslug in tags],
            "images": images,
            "attributes": attributes,
            "default_attributes": default_attributes,
            "variations": [],
            "grouped_products": [],
            "menu_order": 0,
            "meta_data": meta_data,
            "_links": {
                "self": [{"href": f"{base_url}/wp-json/wc/v3/products/{product_id}"}],
                "collection": [{"href": f"{base_url}/wp-json/wc/v3/products"}],
            },
        }

    def _variation_rng(self, product_id: int, position: int) -> random.Random:
        return random.Random(_splitmix64((self.seed << 40) ^ (product_id << 8) ^ position))

    def _variation_prices(self, product_id: int, position: int | None) -> tuple[str, str]:
        """(regular_price, sale_price) of a variation; the parent's price is their minimum."""
        rng = self._variation_rng(product_id, 200 + (position if position is not None else 99))
        base = _splitmix64((self.seed << 32) ^ product_id) % 24_000 / 100 + 6.0
        regular = max(round(base * rng.choice((1.0, 1.0, 1.1, 1.2)), 0) - 0.01, 0.99)
        on_sale = rng.random() < SHARE_VARIATION_SALE
        sale = _money(max(round(regular * 0.8, 0) - 0.01, 0.99)) if on_sale else ""
        return _money(regular), sale

    def _variation_sale(
        self, product_id: int, position: int | None, regular: str, sale: str
    ) -> tuple[dict[str, Any], str, bool]:
        """(sale date fields, active price, on sale now) of a variation: half the sales are
        dated, a quarter of those scheduled for later (then the price is still the regular)."""
        if not sale:
            return _no_sale_dates(), regular, False
        rng = self._variation_rng(product_id, 300 + (position if position is not None else 99))
        if rng.random() >= SHARE_VARIATION_SALE_DATED:
            return _no_sale_dates(), sale, True
        dates, scheduled = _dated_sale(rng)
        return dates, (regular if scheduled else sale), not scheduled

    def _build_variation(
        self, parent: dict[str, Any], variation_id: int, position: int | None, base_url: str
    ) -> dict[str, Any]:
        product_id = int(parent["id"])
        rng = self._variation_rng(product_id, position if position is not None else 15)
        axes = [a for a in parent["attributes"] if a.get("variation")]
        options: list[dict[str, Any]] = []
        if position is not None and axes:
            combos = _combinations(axes)
            options = [
                {"id": axis["id"], "name": axis["name"], "option": option}
                for axis, option in zip(axes, combos[position % len(combos)], strict=True)
            ]
        regular_price, sale_price = self._variation_prices(product_id, position)
        sale_dates, active_price, on_sale = self._variation_sale(
            product_id, position, regular_price, sale_price
        )
        stock = _stock(rng)
        if parent.get("manage_stock") is True and not stock["manage_stock"]:
            # WooCommerce shows a variation that leaves its stock to the parent this way.
            stock = {
                "manage_stock": "parent",
                "stock_quantity": parent.get("stock_quantity"),
                "stock_status": parent.get("stock_status", "instock"),
                "backorders": parent.get("backorders", "no"),
                "backorders_allowed": parent.get("backorders_allowed", False),
                "backordered": parent.get("backordered", False),
            }
        created = datetime.strptime(parent["date_created_gmt"], "%Y-%m-%dT%H:%M:%S")
        created = created.replace(tzinfo=UTC) + timedelta(seconds=1 + (position or 0))
        query = "&".join(
            f"attribute_pa_{o['name'].lower()}={str(o['option']).lower()}" for o in options
        )
        has_image = rng.random() >= 0.2
        sku_base = parent["sku"]
        has_sku = bool(sku_base) and rng.random() >= 0.05
        return {
            "id": variation_id,
            "date_created": _iso(created),
            "date_created_gmt": _iso(created),
            "date_modified": parent["date_modified"],
            "date_modified_gmt": parent["date_modified_gmt"],
            "description": "",
            "permalink": parent["permalink"] + (f"?{query}" if query else ""),
            # Without a SKU of its own, a variation shows its parent's (view context).
            "sku": f"{sku_base}-{(position or 0) + 1}" if has_sku else sku_base,
            "global_unique_id": _gtin(rng) if rng.random() < SHARE_GTIN else "",
            "price": active_price,
            "regular_price": regular_price,
            "sale_price": sale_price,
            **sale_dates,
            "on_sale": on_sale,
            "status": "private" if rng.random() < 0.05 else "publish",
            "purchasable": True,
            "virtual": False,
            "downloadable": False,
            "downloads": [],
            "download_limit": -1,
            "download_expiry": -1,
            "tax_status": "taxable",
            "tax_class": "",
            **stock,
            "low_stock_amount": None,
            "weight": "",
            "dimensions": {"length": "", "width": "", "height": ""},
            "shipping_class": "",
            "shipping_class_id": 0,
            "image": _image(
                variation_id * 100 + 1,
                f"{base_url}/wp-content/uploads/{created:%Y/%m}/{parent['slug']}-v{variation_id}.jpg",
                created,
            )
            if has_image
            else None,
            "attributes": options,
            "menu_order": (position or 0) + 1,
            "meta_data": [],
            "_links": {
                "self": [
                    {
                        "href": f"{base_url}/wp-json/wc/v3/products/{product_id}"
                        f"/variations/{variation_id}"
                    }
                ],
                "collection": [
                    {"href": f"{base_url}/wp-json/wc/v3/products/{product_id}/variations"}
                ],
                "up": [{"href": f"{base_url}/wp-json/wc/v3/products/{product_id}"}],
            },
        }


def _unmanaged_parent_stock() -> dict[str, Any]:
    return {
        "manage_stock": False,
        "stock_quantity": None,
        "stock_status": "instock",
        "backorders": "no",
        "backorders_allowed": False,
        "backordered": False,
    }


def _no_sale_dates() -> dict[str, Any]:
    return {
        "date_on_sale_from": None,
        "date_on_sale_from_gmt": None,
        "date_on_sale_to": None,
        "date_on_sale_to_gmt": None,
    }


def _sale(rng: random.Random, regular: float) -> tuple[str, str, bool, dict[str, Any]]:
    """(sale_price, price, on_sale, date fields) for a simple product."""
    roll = rng.random()
    dates = _no_sale_dates()
    if roll >= SHARE_SALE_WITH_DATES + SHARE_SALE_NO_DATES:
        return "", _money(regular), False, dates
    sale_price = _money(max(round(regular * rng.choice((0.7, 0.8, 0.9)), 0) - 0.01, 0.99))
    if roll < SHARE_SALE_NO_DATES:
        return sale_price, sale_price, True, dates
    # Dated sales: most run now (until far in the future), a quarter is scheduled for later.
    dates, scheduled = _dated_sale(rng)
    if scheduled:
        return sale_price, _money(regular), False, dates
    return sale_price, sale_price, True, dates


def _stock(rng: random.Random) -> dict[str, Any]:
    roll = rng.random()
    if roll < SHARE_NEGATIVE_STOCK:
        return {
            "manage_stock": True,
            "stock_quantity": -rng.randint(1, 5),
            "stock_status": "onbackorder",
            "backorders": "notify",
            "backorders_allowed": True,
            "backordered": True,
        }
    if roll < 0.6:
        quantity = 0 if rng.random() < 0.1 else rng.randint(1, 250)
        return {
            "manage_stock": True,
            "stock_quantity": quantity,
            "stock_status": "instock" if quantity > 0 else "outofstock",
            "backorders": "no",
            "backorders_allowed": False,
            "backordered": False,
        }
    return {
        "manage_stock": False,
        "stock_quantity": None,
        "stock_status": "outofstock" if rng.random() < 0.05 else "instock",
        "backorders": "no",
        "backorders_allowed": False,
        "backordered": False,
    }


def _variation_attributes(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Axes whose combinations give exactly `count` variations (2×2 for four)."""
    colors = rng.sample(_COLORS, 2 if count == 4 else count)
    sizes = rng.sample(_SIZES, 2)
    color = {
        "id": _COLOR_ATTRIBUTE[0],
        "name": _COLOR_ATTRIBUTE[1],
        "slug": "pa_color",
        "position": 0,
        "visible": True,
        "variation": True,
        "options": colors,
    }
    if count != 4:
        if rng.random() < 0.5:
            return [color]
        return [
            {
                "id": _SIZE_ATTRIBUTE[0],
                "name": _SIZE_ATTRIBUTE[1],
                "slug": "pa_size",
                "position": 0,
                "visible": True,
                "variation": True,
                "options": rng.sample(_SIZES, count),
            }
        ]
    size = {
        "id": _SIZE_ATTRIBUTE[0],
        "name": _SIZE_ATTRIBUTE[1],
        "slug": "pa_size",
        "position": 1,
        "visible": True,
        "variation": True,
        "options": sizes,
    }
    return [color, size]


def _combinations(axes: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    combos: list[tuple[str, ...]] = [()]
    for axis in axes:
        combos = [c + (str(o),) for c in combos for o in axis["options"]]
    return combos
