"""Ownership: products already on Mirakl Connect that the connector did not create stay the
seller's — never overwritten, never deleted — unless the merchant opts in to take them over."""

from __future__ import annotations

import copy
from pathlib import Path

from connector.product_options import ProductOptions
from connector.services import disconnect
from connector.services.inventory import inventory_state
from connector.services.status import status
from connector.services.sync import run_sync, save_options
from connector.store import NOT_OURS
from tests.sandboxes import make_world

SIZE = 120


async def pushable_ids(home: Path) -> list[str]:
    """What a first sync of this catalog pushes, found with a world of its own."""
    reference = make_world(home / "reference", catalog_size=SIZE)
    await reference.connect()
    await run_sync(reference.engine)
    return sorted(reference.mirakl.products)


def sellers_own(ids: list[str]) -> list[dict]:
    """The seller's own products: some share an id with a WooCommerce SKU, some do not."""
    clashing = [
        {"id": i, "title": {"en_US": "Made on Mirakl Connect"},
         "quantities": [{"available_quantity": 42}]}
        for i in ids[:3]
    ]
    other = [{"id": f"seller-{n}", "quantities": [{"available_quantity": n}]} for n in range(4)]
    return clashing + other


async def test_a_sellers_own_product_with_a_woo_sku_is_not_pushed_nor_deleted(
    mirakl_woo_home: Path,
) -> None:
    ids = await pushable_ids(mirakl_woo_home)
    world = make_world(mirakl_woo_home, catalog_size=SIZE)
    own = sellers_own(ids)
    world.mirakl.seed(own)
    before = copy.deepcopy(world.mirakl.products)
    await world.connect()

    report = await run_sync(world.engine)

    for product in own:  # untouched, to the byte
        assert world.mirakl.products[product["id"]] == before[product["id"]]
    assert report.skipped_reasons.get(NOT_OURS) == 3
    assert report.pushed == len(ids) - 3
    store = world.engine.store
    assert all(store.ledger_row(p["id"]) is None for p in own)
    shown = status(world.engine)["products"]
    assert shown["linked"] == len(ids) - 3
    assert shown["already_on_mirakl"] == 3 and shown["taken_over"] == 0
    assert inventory_state(store)["complete"]

    receipt = await disconnect.run_disconnect(world.engine, "delete", "disconnect")
    assert receipt.changed == len(ids) - 3 and receipt.taken_over == 0
    assert world.mirakl.products == {p["id"]: before[p["id"]] for p in own}


async def test_the_inventory_is_read_once_per_seller_account(mirakl_woo_home: Path) -> None:
    world = make_world(mirakl_woo_home, catalog_size=SIZE)
    world.mirakl.seed(sellers_own(["x-1", "x-2", "x-3"]))
    await world.connect()
    lists_before = len(world.mirakl.calls_of("list"))
    await run_sync(world.engine)
    after_first = len(world.mirakl.calls_of("list"))
    assert after_first == lists_before + 1  # one page holds this whole catalog
    await run_sync(world.engine)
    assert len(world.mirakl.calls_of("list")) == after_first  # not one call wasted


async def test_a_large_seller_catalog_is_read_page_by_page(mirakl_woo_home: Path) -> None:
    world = make_world(mirakl_woo_home, catalog_size=40)
    world.mirakl.seed({"id": f"seller-{n:05d}"} for n in range(2500))
    await world.connect()
    events: list = []
    await run_sync(world.engine, on_event=events.append)
    state = inventory_state(world.engine.store)
    assert state["complete"] and state["found"] == 2500
    steps = [e for e in events if getattr(e, "step", "") == "checking the Mirakl Connect catalog"]
    assert steps and steps[-1].done == 2500
    assert any(e.eta for e in steps)  # while pages come full, the next one has an ETA
    list_calls = [c for c in world.mirakl.calls_of("list") if c.status == 200]
    assert [c.items for c in list_calls[-3:]] == [1000, 1000, 500]


async def test_taking_over_is_an_explicit_choice_counted_apart(mirakl_woo_home: Path) -> None:
    ids = await pushable_ids(mirakl_woo_home)
    world = make_world(mirakl_woo_home, catalog_size=SIZE)
    own = sellers_own(ids)
    world.mirakl.seed(own)
    await world.connect(sync_on=False)
    save_options(world.engine, ProductOptions(sync_products=True, take_over_existing=True))

    report = await run_sync(world.engine)

    assert NOT_OURS not in report.skipped_reasons
    assert report.pushed == len(ids)
    store = world.engine.store
    taken = [p["id"] for p in own[:3]]
    assert all(store.ledger_row(i).origin == "taken_over" for i in taken)
    assert world.mirakl.products[taken[0]]["quantities"] != [{"available_quantity": 42}]
    plan = disconnect.plan(world.engine)
    assert (plan.linked, plan.taken_over, plan.created) == (len(ids), 3, len(ids) - 3)

    receipt = await disconnect.run_disconnect(world.engine, "delete", "disconnect")

    # deleted: what the connector created; set to 0, not deleted: what it took over
    assert receipt.taken_over == 3
    assert any("not deleted" in line for line in receipt.lines())
    for i in taken:
        quantities = world.mirakl.products[i]["quantities"]
        assert quantities and all(q["available_quantity"] == 0 for q in quantities)
    for product in own[3:]:
        assert product["id"] in world.mirakl.products
    assert set(world.mirakl.products) == {p["id"] for p in own}
