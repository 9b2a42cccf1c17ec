from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import ConnectorError, RemoteUnavailable, UsageError
from connector.services import disconnect
from connector.services.status import status
from connector.services.sync import run_sync
from tests.sandboxes import make_world

FOREIGN = [
    {"id": "seller-own-1", "quantities": [{"available_quantity": 7}]},
    {"id": "seller-own-2", "quantities": [{"available_quantity": 3, "warehouse_code": "paris"}]},
]


async def synced_world(home: Path, **kwargs):
    world = make_world(home, **kwargs)
    await world.connect()
    await run_sync(world.engine)
    world.mirakl.seed(FOREIGN)
    return world


def fail_after_first_batch(world):
    """An event listener that makes Mirakl Connect go away once 1000 products are done."""

    def listen(event) -> None:
        if getattr(event, "done", 0) >= 1000:
            world.mirakl_faults.error_rate = 1.0

    return listen


def pushed_ids(world) -> list[str]:
    return [row.mirakl_id for row in world.engine.store.iter_linked()]


@pytest.mark.parametrize("word", ["Disconnect", "DISCONNECT", "yes", "", None, "disconnect!"])
def test_only_the_exact_word_confirms(word: str | None) -> None:
    assert not disconnect.confirmation_ok(word)


@pytest.mark.parametrize("word", ["disconnect", "  disconnect  ", "\tdisconnect\n"])
def test_spaces_around_the_word_are_ignored(word: str) -> None:
    assert disconnect.confirmation_ok(word)


async def test_wrong_word_changes_nothing(mirakl_woo_home: Path) -> None:
    world = await synced_world(mirakl_woo_home)
    before = dict(world.mirakl.products)
    with pytest.raises(UsageError):
        await disconnect.run_disconnect(world.engine, "delete", "DISCONNECT")
    assert world.mirakl.products == before
    assert status(world.engine)["mirakl"] is not None


def test_plan_counts_and_eta(mirakl_woo_home: Path) -> None:
    plan = disconnect.DisconnectPlan(linked=2500, interval=60, mirakl=None, woocommerce=None)
    assert (plan.calls("keep"), plan.calls("deactivate"), plan.calls("delete")) == (0, 3, 3)
    assert plan.eta("keep") == 0
    assert 120 <= plan.eta("delete") <= 122


async def test_keep_makes_no_remote_call_and_wipes_local_data(mirakl_woo_home: Path) -> None:
    world = await synced_world(mirakl_woo_home)
    before = {k: dict(v) for k, v in world.mirakl.products.items()}
    calls = len(world.mirakl.calls)
    receipt = await disconnect.run_disconnect(world.engine, "keep", "disconnect")
    assert len(world.mirakl.calls) == calls
    assert world.mirakl.products == before
    assert not mirakl_woo_home.exists()
    assert receipt.option == "keep" and receipt.changed == 0
    assert receipt.key_last7 and receipt.key_last7 in receipt.revoke_hint
    assert status(world.engine)["mirakl"] is None


async def test_deactivate_sets_connector_products_to_zero_only(mirakl_woo_home: Path) -> None:
    world = await synced_world(mirakl_woo_home)
    ids = pushed_ids(world)
    receipt = await disconnect.run_disconnect(world.engine, "deactivate", "disconnect")
    assert receipt.changed == len(ids)
    for mirakl_id in ids:
        quantities = world.mirakl.products[mirakl_id]["quantities"]
        assert quantities and all(q["available_quantity"] == 0 for q in quantities)
    assert world.mirakl.products["seller-own-1"]["quantities"][0]["available_quantity"] == 7
    assert world.mirakl.products["seller-own-2"]["quantities"][0]["available_quantity"] == 3
    assert not mirakl_woo_home.exists()


async def test_delete_removes_connector_products_only(mirakl_woo_home: Path) -> None:
    world = await synced_world(mirakl_woo_home)
    ids = pushed_ids(world)
    await disconnect.run_disconnect(world.engine, "delete", "disconnect")
    assert not set(ids) & set(world.mirakl.products)
    assert {"seller-own-1", "seller-own-2"} <= set(world.mirakl.products)
    assert not mirakl_woo_home.exists()


async def test_failure_mid_way_keeps_everything_and_resumes(mirakl_woo_home: Path) -> None:
    world = await synced_world(mirakl_woo_home, catalog_size=1600)
    ids = pushed_ids(world)
    assert len(ids) > 1000
    with pytest.raises(RemoteUnavailable):
        await disconnect.run_disconnect(
            world.engine, "delete", "disconnect", on_event=fail_after_first_batch(world)
        )
    # everything kept: accounts, ledger, journal with exactly the first batch done
    data = status(world.engine)
    assert data["mirakl"] and data["woocommerce"]
    assert data["job"]["kind"] == "disconnect" and data["job"]["state"] == "failed"
    assert data["job"]["done"] == 1000
    assert len(pushed_ids(world)) == len(ids)
    assert disconnect.pending(world.engine) is not None

    # another option cannot start over a half-done delete
    with pytest.raises(UsageError):
        await disconnect.run_disconnect(world.engine, "deactivate", "disconnect")

    world.mirakl_faults.error_rate = 0.0
    deleted_before = sum(c.items for c in world.mirakl.calls_of("delete") if c.status == 202)
    receipt = await disconnect.run_disconnect(world.engine, "delete", "disconnect")
    deleted_after = sum(c.items for c in world.mirakl.calls_of("delete") if c.status == 202)
    assert deleted_after - deleted_before == len(ids) - 1000  # no batch sent again
    assert receipt.changed == len(ids)
    assert not set(ids) & set(world.mirakl.products)
    assert not mirakl_woo_home.exists()


async def test_nothing_connected_is_one_clear_error(mirakl_woo_home: Path) -> None:
    world = make_world(mirakl_woo_home)
    with pytest.raises(ConnectorError, match="Nothing is connected"):
        await disconnect.run_disconnect(world.engine, "keep", "disconnect")
    assert not mirakl_woo_home.exists()


async def test_wipe_removes_only_the_connectors_files(mirakl_woo_home: Path) -> None:
    world = await synced_world(mirakl_woo_home)
    mine = mirakl_woo_home / "notes.txt"
    mine.write_text("not the connector's")
    await disconnect.run_disconnect(world.engine, "keep", "disconnect")
    assert mine.read_text() == "not the connector's"
    assert sorted(p.name for p in mirakl_woo_home.iterdir()) == ["notes.txt"]
    assert status(world.engine)["mirakl"] is None


async def test_no_sync_while_a_disconnect_is_unfinished(mirakl_woo_home: Path) -> None:
    world = await synced_world(mirakl_woo_home, catalog_size=1600)
    ids = pushed_ids(world)
    with pytest.raises(RemoteUnavailable):
        await disconnect.run_disconnect(
            world.engine, "deactivate", "disconnect", on_event=fail_after_first_batch(world)
        )
    world.mirakl_faults.error_rate = 0.0
    upserts = len(world.mirakl.calls_of("upsert"))
    with pytest.raises(UsageError, match="disconnect is unfinished"):
        await run_sync(world.engine)
    assert len(world.mirakl.calls_of("upsert")) == upserts  # nothing re-activated
    await disconnect.run_disconnect(world.engine, "deactivate", "disconnect")
    for mirakl_id in ids:
        assert all(
            q["available_quantity"] == 0 for q in world.mirakl.products[mirakl_id]["quantities"]
        )
