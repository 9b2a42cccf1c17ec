"""The Overview's read service: read again when the database changed, except on a key while
a runner is committing (figures up to `max_age` old)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connector.jobs import runner_lock
from connector.services.status import overview
from connector.services.sync import run_sync
from tests.sandboxes import make_world


def messages(value: dict[str, Any]) -> list[str]:
    return [message for _at, _level, message in value["activity"]]


async def test_a_key_may_take_a_second_old_figures_while_a_runner_commits(
    mirakl_woo_home: Path,
) -> None:
    world = make_world(mirakl_woo_home)
    await world.connect()
    await run_sync(world.engine)
    store = world.engine.store
    before = overview(world.engine)
    with runner_lock(store):  # a runner at work: the lock held, commits coming
        running = overview(world.engine)  # the runner took the lock: read afresh
        assert running is not before
        store.log_activity("Mirakl Connect accepted 1,000 products.")
        on_a_key = overview(world.engine, max_age=60)
        assert on_a_key is running  # the key did not wait for a recount
        fresh = overview(world.engine)  # a job's end, another process's commit
        assert "Mirakl Connect accepted 1,000 products." in messages(fresh)
        assert overview(world.engine, max_age=0) is fresh
    store.log_activity("Sync done.")
    after = overview(world.engine, max_age=60)  # no runner: every commit is read
    assert "Sync done." in messages(after)
