"""Calling off an unfinished job: a disconnect stopped part-way can be cancelled, both
accounts stay, and what it had set to 0 or deleted is restored by the next sync."""

from __future__ import annotations

import asyncio
import copy
from contextlib import suppress
from pathlib import Path

import pytest

from connector.engine import MIRAKL, WOOCOMMERCE
from connector.errors import ConnectorError
from connector.services import disconnect
from connector.services.cancel import cancel_job
from connector.services.sync import run_sync
from tests.sandboxes import World, make_world

FOREIGN = [{"id": "seller-own-1", "quantities": [{"available_quantity": 7}]}]


async def synced(home: Path) -> World:
    # More than 1000 Mirakl products (two batches); an interval long enough that a
    # disconnect stopped right after its first batch never sent the second.
    world = make_world(home, catalog_size=900, interval=0.4)
    world.mirakl.seed(FOREIGN)
    await world.connect()
    await run_sync(world.engine)
    assert world.engine.store.linked_count() > 1000
    return world


async def stopped_after_one_batch(world: World, option: str) -> None:
    """The disconnect is stopped (Ctrl+C, a dropped SSH session) after its first batch."""
    operation = "delete" if option == "delete" else "upsert"

    def accepted() -> int:
        return sum(1 for c in world.mirakl.calls_of(operation) if c.status == 202)

    start = accepted()
    task = asyncio.ensure_future(
        disconnect.run_disconnect(world.engine, option, disconnect.CONFIRM_WORD)
    )
    while accepted() == start:
        assert not task.done(), task
        await asyncio.sleep(0.005)
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
    assert disconnect.pending(world.engine) is not None


def quantity(product: dict) -> int:
    return sum(q.get("available_quantity", 0) for q in product.get("quantities", []))


async def test_a_deactivate_called_off_restores_the_stock_with_the_next_sync(
    mirakl_woo_home: Path,
) -> None:
    world = await synced(mirakl_woo_home)
    before = copy.deepcopy(world.mirakl.products)
    await stopped_after_one_batch(world, "deactivate")
    zeroed = [i for i, p in world.mirakl.products.items() if quantity(p) < quantity(before[i])]
    assert 0 < len(zeroed) <= 1000  # the first batch (some were out of stock already)

    result = cancel_job(world.engine)

    assert result is not None and result.kind == "disconnect" and result.restored == 1000
    assert "stay connected" in " ".join(result.lines())
    store = world.engine.store
    assert store.account(MIRAKL) is not None and store.account(WOOCOMMERCE) is not None
    assert disconnect.pending(world.engine) is None  # nothing left to resume
    report = await run_sync(world.engine)
    assert report.pushed == 1000  # exactly the products the disconnect had changed
    assert world.mirakl.products == before  # the seller's own product untouched too


async def test_a_delete_called_off_puts_the_products_back_and_another_option_can_run(
    mirakl_woo_home: Path,
) -> None:
    world = await synced(mirakl_woo_home)
    before = copy.deepcopy(world.mirakl.products)
    await stopped_after_one_batch(world, "delete")
    assert len(world.mirakl.products) == len(before) - 1000

    result = cancel_job(world.engine)
    assert result is not None and result.restored == 1000
    store = world.engine.store
    assert store.linked_count() == len(before) - 1 - 1000  # the deleted ones are gone...
    assert store.ledger_counts()["waiting"] == 1000  # ...and waiting to be pushed again
    await run_sync(world.engine)
    assert world.mirakl.products == before

    receipt = await disconnect.run_disconnect(world.engine, "deactivate", "disconnect")
    assert receipt.changed == len(before) - 1  # another option, once the first is off
    assert world.mirakl.products["seller-own-1"] == before["seller-own-1"]


async def test_a_sync_called_off_is_no_longer_offered(mirakl_woo_home: Path) -> None:
    world = make_world(mirakl_woo_home, catalog_size=300)
    await world.connect()
    world.woo_faults.fail_from, world.woo_faults.fail_status = world.woo_faults.seen + 2, 503
    world.engine.client_options["woocommerce"] = {"retry_wait": 0.01, "max_retry_wait": 0.02}
    with pytest.raises(ConnectorError):
        await run_sync(world.engine)
    assert world.engine.store.open_job("sync") is not None

    result = cancel_job(world.engine)

    assert result is not None and result.kind == "sync"
    assert world.engine.store.open_job() is None


async def test_nothing_to_call_off(mirakl_woo_home: Path) -> None:
    world = make_world(mirakl_woo_home)
    await world.connect()
    assert cancel_job(world.engine) is None
