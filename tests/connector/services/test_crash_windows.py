"""A crash at any instant — including after Mirakl Connect applied a batch and before its answer
arrived — never leaves a product on Mirakl Connect that a later disconnect will not act on,
and never touches the seller's own products.

A crash is modelled exactly: the database as committed at that instant (SQLite's backup API
copies committed transactions only, as a kill -9 leaves them) and the secrets file are copied
to a new data folder, and the same command runs again from there against the same remote
systems. `tests/terminal/test_kill_points.py` does the same with real kill -9 signals.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from connector.engine import Engine
from connector.services import disconnect
from connector.services.sync import run_sync
from tests.sandboxes import FAST_CLIENTS, World, make_world

FOREIGN = [
    {"id": "seller-own-1", "quantities": [{"available_quantity": 7}]},
    {"id": "seller-own-2", "quantities": [{"available_quantity": 3, "warehouse_code": "paris"}]},
]


def crashed_copy(world: World, home: Path) -> Engine:
    """The data folder as a kill -9 at this instant leaves it, opened by a new process."""
    settings = world.engine.settings
    home.mkdir(parents=True)
    if settings.secrets_path.exists():
        shutil.copy2(settings.secrets_path, home / settings.secrets_path.name)
    source = sqlite3.connect(settings.db_path)
    target = sqlite3.connect(home / settings.db_path.name)
    with target:
        source.backup(target)
    source.close()
    target.close()
    return Engine(
        replace(settings, home=home),
        mirakl_transport=httpx.ASGITransport(app=world.mirakl.app),
        woo_transport=httpx.ASGITransport(app=world.woo.app),
        client_options=FAST_CLIENTS,
    )


async def crash_when(
    world: World, work: Callable[[], Awaitable[object]], ready: Callable[[], bool], home: Path
) -> Engine:
    """Run `work` until `ready()`, take the crashed copy, then stop the work."""
    task = asyncio.ensure_future(work())
    for _ in range(2000):
        if ready() or task.done():
            break
        await asyncio.sleep(0.005)
    assert ready(), "the crash point was never reached"
    engine = crashed_copy(world, home)
    task.cancel()
    with suppress(BaseException):
        await task
    world.mirakl_faults.clear()
    return engine


def only_the_sellers_products_left(world: World) -> None:
    assert world.mirakl.products == {p["id"]: p for p in FOREIGN}


def every_product_known(world: World, engine: Engine) -> None:
    """Each product of the connector's on Mirakl Connect is linked in the ledger."""
    store = engine.store
    for mirakl_id in world.mirakl.products:
        if mirakl_id.startswith("seller-own"):
            assert store.ledger_row(mirakl_id) is None
        else:
            row = store.ledger_row(mirakl_id)
            assert row is not None and row.linked, mirakl_id


def hold(world: World, method: str, nth: int) -> Callable[[], bool]:
    """Hold the answer of the `nth` call of `method` from now, once Mirakl applied it."""
    faults = world.mirakl_faults
    faults.only_paths, faults.only_methods = ("/api/products",), (method,)
    faults.hold_from, faults.hold_reply = faults.seen + nth, 30.0
    return lambda: faults.holding > 0


@pytest.mark.parametrize("catalog_size", [300, 900])
@pytest.mark.parametrize("nth", [1, 2])
@pytest.mark.parametrize("then", ["delete", "deactivate", "sync again"])
async def test_crash_after_mirakl_applied_a_sync_batch(
    tmp_path: Path, catalog_size: int, nth: int, then: str
) -> None:
    if nth == 2 and catalog_size == 300:
        nth = 1  # one batch only: the window is the first one's
    world = make_world(tmp_path / "first", catalog_size=catalog_size)
    world.mirakl.seed(FOREIGN)
    await world.connect()
    ready = hold(world, "POST", nth)
    engine = await crash_when(world, lambda: run_sync(world.engine), ready, tmp_path / "after")
    assert world.mirakl.products.keys() - {p["id"] for p in FOREIGN}  # Mirakl applied it
    every_product_known(world, engine)

    if then == "sync again":
        await run_sync(engine)
        every_product_known(world, engine)
        assert all(engine.store.ledger_row(i).state == "pushed"
                   for i in world.mirakl.products if not i.startswith("seller-own"))
        await disconnect.run_disconnect(engine, "delete", "disconnect")
        only_the_sellers_products_left(world)
    elif then == "delete":
        await disconnect.run_disconnect(engine, "delete", "disconnect")
        only_the_sellers_products_left(world)
    else:
        await disconnect.run_disconnect(engine, "deactivate", "disconnect")
        for mirakl_id, product in world.mirakl.products.items():
            if not mirakl_id.startswith("seller-own"):
                assert all(q["available_quantity"] == 0 for q in product["quantities"])
        assert {p["id"]: world.mirakl.products[p["id"]] for p in FOREIGN} == {
            p["id"]: p for p in FOREIGN
        }


@pytest.mark.parametrize("nth", [1, 2])
@pytest.mark.parametrize("option", ["delete", "deactivate"])
async def test_crash_after_mirakl_applied_a_disconnect_batch(
    tmp_path: Path, nth: int, option: str
) -> None:
    world = make_world(tmp_path / "first", catalog_size=900)
    await world.connect()
    await run_sync(world.engine)
    world.mirakl.seed(FOREIGN)
    ours = set(world.mirakl.products) - {p["id"] for p in FOREIGN}
    ready = hold(world, "DELETE" if option == "delete" else "POST", nth)
    engine = await crash_when(
        world,
        lambda: disconnect.run_disconnect(world.engine, option, "disconnect"),
        ready,
        tmp_path / "after",
    )
    receipt = await disconnect.run_disconnect(engine, option, "disconnect")
    assert receipt.changed == len(ours)
    assert not (tmp_path / "after").exists() or not any((tmp_path / "after").iterdir())
    if option == "delete":
        only_the_sellers_products_left(world)
    else:
        for mirakl_id in ours:
            product = world.mirakl.products[mirakl_id]
            assert all(q["available_quantity"] == 0 for q in product["quantities"])


async def test_crash_while_a_batch_waits_for_its_slot(tmp_path: Path) -> None:
    """The intent is committed, the request never left: a disconnect still acts on it all."""
    world = make_world(tmp_path / "first", catalog_size=900, interval=0.5)
    world.mirakl.seed(FOREIGN)
    await world.connect()
    waiting: list[object] = []

    def listen(event: object) -> None:
        if type(event).__name__ == "Waiting" and getattr(event, "operation", "") == "upsert":
            waiting.append(event)

    engine = await crash_when(
        world, lambda: run_sync(world.engine, on_event=listen), lambda: bool(waiting),
        tmp_path / "after",
    )
    every_product_known(world, engine)
    await disconnect.run_disconnect(engine, "delete", "disconnect")
    only_the_sellers_products_left(world)
