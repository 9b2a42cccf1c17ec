"""The disconnect reads the catalog back before the wipe and says what Mirakl Connect shows."""

from __future__ import annotations

import copy
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from connector.engine import Engine
from connector.events import Event, Progress
from connector.services import disconnect
from connector.services.sync import run_sync
from tests.sandboxes import FAST_CLIENTS, World, make_world

FOREIGN = [{"id": "seller-own-1", "quantities": [{"available_quantity": 7}]}]


async def synced(home: Path, *, interval: float = 0.02, size: int = 120) -> World:
    world = make_world(home, catalog_size=size, interval=interval)
    world.mirakl.seed(FOREIGN)
    await world.connect()
    await run_sync(world.engine)
    return world


async def test_a_delete_is_read_back_and_confirmed(mirakl_woo_home: Path) -> None:
    world = await synced(mirakl_woo_home)
    ours = world.engine.store.linked_count()
    lists = len(world.mirakl.calls_of("list"))

    receipt = await disconnect.run_disconnect(world.engine, "delete", "disconnect")

    check = receipt.verification
    assert check is not None and check.complete
    assert (check.confirmed, check.not_yet, check.unchecked) == (ours, 0, 0)
    assert f"Mirakl Connect shows {ours:,} of the connector's products gone." in receipt.lines()
    assert len(world.mirakl.calls_of("list")) == lists + 1  # one page holds it all
    assert receipt.to_dict()["verification"]["confirmed"] == ours


async def test_changes_mirakl_has_not_applied_yet_are_said(mirakl_woo_home: Path) -> None:
    world = await synced(mirakl_woo_home)
    before = copy.deepcopy(world.mirakl.products)
    lagging = next(i for i in before if i != "seller-own-1")

    def on_event(event: Event) -> None:  # Mirakl still shows one product live
        if isinstance(event, Progress) and event.step.startswith("checking what Mirakl"):
            world.mirakl.seed([before[lagging]])

    receipt = await disconnect.run_disconnect(
        world.engine, "deactivate", "disconnect", on_event=on_event
    )

    check = receipt.verification
    assert check is not None and check.not_yet == 1
    assert "1 not yet (it applies changes within minutes)" in " ".join(receipt.lines())


async def test_the_read_back_never_keeps_the_wipe_waiting(mirakl_woo_home: Path) -> None:
    """The list slot is taken for the next 30 s (the sync's inventory just used it): the
    read-back reads nothing rather than wait, and says so."""
    world = await synced(mirakl_woo_home, size=40)
    ours = world.engine.store.linked_count()
    world.engine.close()
    slow = Engine(  # Mirakl's real pace: one list call a minute (well, 30 s here)
        replace(world.engine.settings, min_interval=30.0),
        mirakl_transport=httpx.ASGITransport(app=world.mirakl.app),
        woo_transport=httpx.ASGITransport(app=world.woo.app),
        client_options=FAST_CLIENTS,
    )
    started = time.monotonic()

    receipt = await disconnect.run_disconnect(slow, "delete", "disconnect")

    assert time.monotonic() - started < 5
    check = receipt.verification
    assert check is not None and not check.complete and check.unchecked == ours
    assert "not checked" in " ".join(receipt.lines())
    assert not mirakl_woo_home.exists()


async def test_no_read_back_when_asked_not_to(mirakl_woo_home: Path) -> None:
    world = await synced(mirakl_woo_home)
    lists = len(world.mirakl.calls_of("list"))
    receipt = await disconnect.run_disconnect(world.engine, "delete", "disconnect", verify=False)
    assert receipt.verification is None
    assert len(world.mirakl.calls_of("list")) == lists


async def test_stopped_while_reading_back_is_journaled_and_resumes(mirakl_woo_home: Path) -> None:
    world = await synced(mirakl_woo_home)

    def on_event(event: Event) -> None:  # Ctrl+C as the read-back starts
        if isinstance(event, Progress) and event.step.startswith("checking what Mirakl"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await disconnect.run_disconnect(world.engine, "delete", "disconnect", on_event=on_event)
    job = world.engine.store.open_job("disconnect")
    assert job is not None and job.state == "interrupted"  # said, not left "running"
    receipt = await disconnect.run_disconnect(world.engine, "delete", "disconnect")
    assert receipt.verification is not None and receipt.verification.not_yet == 0
    assert set(world.mirakl.products) == {"seller-own-1"}
    assert not mirakl_woo_home.exists()
