"""A store or Mirakl Connect failing mid-pass ends the sync with one clear error, never a hang,
and the next pass carries on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from connector.errors import CredentialsRefused, RemoteUnavailable
from connector.jobs import is_runner_active
from connector.services.sync import run_sync
from tests.sandboxes import make_world

NO_ROUTE = {"code": "rest_no_route", "message": "No route was found.", "data": {"status": 404}}
REVOKED = {
    "code": "woocommerce_rest_cannot_view",
    "message": "Sorry, you cannot list resources.",
    "data": {"status": 401},
}

STORE_FAILURES = [
    pytest.param(404, NO_ROUTE, {}, RemoteUnavailable, id="woocommerce deactivated"),
    pytest.param(401, REVOKED, {}, CredentialsRefused, id="key revoked"),
    pytest.param(
        301, None, {"Location": "https://shop.test/wp-json/wc/v3/products/?per_page=100"},
        RemoteUnavailable, id="permalinks switched",  # as WordPress answers: no body
    ),
    pytest.param(0, None, {}, RemoteUnavailable, id="store gone"),
    pytest.param(503, None, {}, RemoteUnavailable, id="store down"),
]


@pytest.mark.parametrize(("status", "body", "headers", "expected"), STORE_FAILURES)
@pytest.mark.parametrize("fail_from", [2, 4])
@pytest.mark.parametrize("where", ["every request", "product pages only"])
async def test_a_store_failing_mid_read_ends_the_pass(
    mirakl_woo_home: Path, status, body, headers, expected, fail_from: int, where: str
) -> None:
    world = make_world(mirakl_woo_home, catalog_size=500)  # 5 pages
    await world.connect()
    world.engine.client_options["woocommerce"] = {"retry_wait": 0.01, "max_retry_wait": 0.02}
    faults = world.woo_faults
    if where == "product pages only":  # the variations keep answering: only the reader fails
        faults.only_paths = ("/wp-json/wc/v3/products$",)
    faults.fail_status, faults.fail_body, faults.fail_headers = status, body, headers
    faults.fail_from = faults.seen + fail_from
    with pytest.raises(expected) as raised:
        await asyncio.wait_for(run_sync(world.engine), timeout=60)
    line = raised.value.one_line()
    assert "\n" not in line and line
    store = world.engine.store
    assert not is_runner_active(store)  # the lock is released: cron's next pass may run
    job = store.open_job("sync")
    assert job is not None and job.state == "failed" and job.error

    faults.clear()
    faults.only_paths = ()
    report = await asyncio.wait_for(run_sync(world.engine), timeout=60)
    assert report.failed == 0
    on_mirakl = set(world.mirakl.products)
    assert on_mirakl and all(store.ledger_row(i).state == "pushed" for i in on_mirakl)
    assert store.open_job("sync") is None


async def test_no_task_is_left_failing_after_the_pass(mirakl_woo_home: Path) -> None:
    """Variations asked for before the failure are cancelled, not left to fail unobserved."""
    world = make_world(mirakl_woo_home, catalog_size=900)
    await world.connect()
    loop = asyncio.get_running_loop()
    unobserved: list[dict] = []
    loop.set_exception_handler(lambda _loop, context: unobserved.append(context))
    world.woo_faults.fail_status, world.woo_faults.fail_body = 404, NO_ROUTE
    world.woo_faults.fail_from = world.woo_faults.seen + 3
    with pytest.raises(RemoteUnavailable):
        await asyncio.wait_for(run_sync(world.engine), timeout=60)
    for _ in range(5):
        await asyncio.sleep(0.05)
    import gc

    gc.collect()
    await asyncio.sleep(0)
    assert unobserved == []


async def test_permalinks_switched_mid_read_says_so_and_how_to_fix(mirakl_woo_home: Path) -> None:
    world = make_world(mirakl_woo_home, catalog_size=300)
    await world.connect()
    faults = world.woo_faults
    faults.fail_status, faults.fail_body = 301, None
    faults.fail_headers = {"Location": "https://shop.test/wp-json/wc/v3/products/?per_page=100"}
    faults.fail_from = faults.seen + 2
    with pytest.raises(RemoteUnavailable) as raised:
        await asyncio.wait_for(run_sync(world.engine), timeout=60)
    line = raised.value.one_line()
    assert "permalinks" in line and "Connect the store again" in line
    assert "per_page" not in line  # where it points, not the query it carried
