from __future__ import annotations

from pathlib import Path

import pytest

from connector.events import Progress
from connector.services.status import status
from connector.services.sync import run_sync
from tests.sandboxes import make_world


def accepted(world, operation: str):
    return [c for c in world.mirakl.calls_of(operation) if c.status == 202]


async def test_sync_off_pushes_nothing(mirakl_woo_home: Path) -> None:
    world = make_world(mirakl_woo_home)
    await world.connect(sync_on=False)
    report = await run_sync(world.engine)
    assert report.disabled
    assert world.mirakl.products == {}
    assert world.mirakl.calls_of("upsert") == []


async def test_first_pass_pushes_published_products_and_lists_skips(mirakl_woo_home: Path) -> None:
    world = make_world(mirakl_woo_home, catalog_size=80)
    await world.connect()
    events = []
    report = await run_sync(world.engine, on_event=events.append)
    assert report.pushed > 0 and report.failed == 0
    assert len(world.mirakl.products) == report.pushed
    # every product on Mirakl Connect is in the ledger, as pushed
    store = world.engine.store
    for mirakl_id in world.mirakl.products:
        row = store.ledger_row(mirakl_id)
        assert row is not None and row.state == "pushed" and row.on_mirakl
    # drafts are not pushed; products without SKU are listed with the reason
    catalog = world.woo.catalog
    for product in catalog.iter_products():
        if product["type"] == "simple" and product["sku"] and product["status"] != "publish":
            assert product["sku"] not in world.mirakl.products
    assert "no SKU" in " ".join(report.skipped_reasons)
    assert status(world.engine)["products"]["linked"] == report.pushed
    assert any(isinstance(e, Progress) for e in events)


async def test_second_pass_sends_only_what_changed(mirakl_woo_home: Path) -> None:
    world = make_world(mirakl_woo_home, catalog_size=60)
    await world.connect()
    await run_sync(world.engine)
    calls_before = len(accepted(world, "upsert"))
    again = await run_sync(world.engine)
    assert again.pushed == 0 and again.unchanged > 0
    assert len(accepted(world, "upsert")) == calls_before  # not one call wasted

    product = next(
        p
        for p in world.woo.catalog.iter_products()
        if p["type"] == "simple" and p["sku"] and p["status"] == "publish"
    )
    world.woo.catalog.update_product(product["id"], regular_price="123.45", sale_price="")
    third = await run_sync(world.engine)
    assert third.pushed == 1
    sent = world.mirakl.products[product["sku"]]
    assert sent["standard_prices"][0]["price"]["amount"] == 123.45


async def test_unpublished_or_removed_products_get_quantity_zero(mirakl_woo_home: Path) -> None:
    world = make_world(mirakl_woo_home, catalog_size=60)
    await world.connect()
    await run_sync(world.engine)
    simple = [
        p
        for p in world.woo.catalog.iter_products()
        if p["type"] == "simple" and p["sku"] and p["status"] == "publish"
    ]
    unpublished, removed = simple[0], simple[1]
    world.woo.catalog.update_product(unpublished["id"], status="draft")
    world.woo.catalog.delete_product(removed["id"])
    report = await run_sync(world.engine)
    assert report.set_to_0 == 2
    for product in (unpublished, removed):
        on_mirakl = world.mirakl.products[product["sku"]]  # still there: never a silent delete
        assert all(q["available_quantity"] == 0 for q in on_mirakl["quantities"])
        assert world.engine.store.ledger_row(product["sku"]).state == "zeroed"


async def test_full_batches_paced_and_never_a_429(mirakl_woo_home: Path) -> None:
    world = make_world(mirakl_woo_home, catalog_size=1600, interval=0.15)
    await world.connect()
    report = await run_sync(world.engine)
    upserts = accepted(world, "upsert")
    assert report.pushed > 1500
    assert [c.items for c in upserts[:-1]] == [1000] * (len(upserts) - 1)
    assert sum(c.items for c in upserts) == report.pushed
    assert all(c.status != 429 for c in world.mirakl.calls)
    gaps = [b.at - a.at for a, b in zip(upserts, upserts[1:], strict=False)]
    assert min(gaps) >= 0.15


async def test_a_failed_pass_is_caught_up_by_the_next_one(mirakl_woo_home: Path) -> None:
    from connector.errors import RemoteUnavailable

    world = make_world(mirakl_woo_home, catalog_size=60)
    await world.connect()
    await run_sync(world.engine)
    removed = next(
        p for p in world.woo.catalog.iter_products()
        if p["type"] == "simple" and p["sku"] and p["status"] == "publish"
    )
    world.woo.catalog.delete_product(removed["id"])
    world.mirakl_faults.error_rate = 1.0  # Mirakl Connect is down for this pass
    with pytest.raises(RemoteUnavailable):
        await run_sync(world.engine)
    assert world.mirakl.products[removed["sku"]]["quantities"][0]["available_quantity"] > 0
    world.mirakl_faults.error_rate = 0.0
    report = await run_sync(world.engine)
    assert report.set_to_0 == 1
    quantities = world.mirakl.products[removed["sku"]]["quantities"]
    assert all(q["available_quantity"] == 0 for q in quantities)


async def test_a_sync_stopped_mid_read_leaves_no_request_behind(mirakl_woo_home: Path) -> None:
    """Stopped (Ctrl+Q, a hand-over to the background) while pages wait to be pushed: the
    variations already asked for are cancelled with it, none fails later on a closed client."""
    import asyncio
    import gc

    world = make_world(mirakl_woo_home, catalog_size=3000, interval=0.05)
    await world.connect()
    world.mirakl_faults.latency = 5.0  # the first push never comes back before the stop
    loop = asyncio.get_running_loop()
    unhandled: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: unhandled.append(context))
    try:
        task = asyncio.create_task(run_sync(world.engine))
        while world.engine.store.open_job("sync") is None or not world.woo.calls:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)  # pages and their variations are queued behind the push
        task.cancel()
        with pytest.raises(BaseException):  # noqa: B017 - the sync reports its interruption
            await task
        await asyncio.sleep(0.2)
        gc.collect()  # a task whose error was never read is reported when collected
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert unhandled == []


async def test_a_host_that_starts_stripping_the_header_is_remembered(mirakl_woo_home: Path) -> None:
    """Connected with the header arriving; the host then drops it (a new proxy, say): the
    sync goes on in the query-string form, and the account and `status` say so from then on."""
    from connector.engine import WOOCOMMERCE

    world = make_world(mirakl_woo_home, catalog_size=60)
    await world.connect()
    assert status(world.engine)["woocommerce"]["auth_mode"] == "basic"
    world.woo.strip_authorization = True
    from connector.events import Activity

    events: list[object] = []
    report = await run_sync(world.engine, on_event=events.append)
    assert report.pushed > 0 and report.failed == 0
    told = [e for e in events if isinstance(e, Activity) and e.level == "warning"
            and "strips the Authorization header" in e.message]  # fmt: skip
    assert len(told) == 1  # as it happens, to the CLI's stderr and the app's log
    assert status(world.engine)["woocommerce"]["auth_mode"] == "query"
    saved = world.engine.store.account(WOOCOMMERCE)
    assert saved is not None and saved.details["auth_mode"] == "query"

    def said() -> list[str]:
        rows = world.engine.store.recent_activity(200)
        return [m for _at, _level, m in rows if "strips the Authorization header" in m]

    assert len(said()) == 1
    probes, answered = len(world.woo.query_credentials), len(world.woo.calls)
    await run_sync(world.engine)  # the next run sends it so at once: no second warning
    assert len(world.woo.query_credentials) > probes
    assert [c for c in world.woo.calls[answered:] if c.status == 401] == []  # no Basic tried
    assert len(said()) == 1


def test_a_last_sync_saved_before_set_to_0_reads_in_todays_words(mirakl_woo_home: Path) -> None:
    world = make_world(mirakl_woo_home)
    world.engine.store.set_setting(
        "last_sync", {"finished_at": "2026-11-30T10:00:00+00:00", "pushed": 5, "zeroed": 3}
    )
    last = status(world.engine)["last_sync"]
    assert last["set_to_0"] == 3 and "zeroed" not in last and last["pushed"] == 5
