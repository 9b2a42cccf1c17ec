"""`FolderWatch` tells what another process committed to the data folder, from the moment the
app read it (not from its first poll)."""

from __future__ import annotations

from tests.sandboxes import World
from tui.folder_watch import FolderWatch


def test_a_commit_before_the_first_poll_is_a_change(connected: World) -> None:
    watch = FolderWatch(connected.engine)
    other = connected.another_engine()  # another mirakl-woo process, its own connection
    try:
        other.store.set_setting("last_sync", {"pushed": 1})
    finally:
        other.close()
    assert watch.poll() == "changed"
    assert watch.poll() is None  # said once


def test_its_own_commits_are_not_a_change(connected: World) -> None:
    watch = FolderWatch(connected.engine)
    connected.engine.store.set_setting("last_sync", {"pushed": 1})
    assert watch.poll() is None
