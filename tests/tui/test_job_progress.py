"""The generic job progress widget: coalesced drawing, words for levels, replay, markup-safe."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Label, Log

from connector.events import Activity, Finished, Progress, Waiting
from tui.widgets.job_progress import JobProgress, format_eta


class ProgressApp(App[None]):
    """One JobProgress, nothing else."""

    def compose(self) -> ComposeResult:
        yield JobProgress("Sync", id="progress")


def label(app: App[None], selector: str) -> str:
    return str(app.query_one(selector, Label).content)


async def test_a_burst_of_events_is_drawn_once_with_the_latest_figures() -> None:
    app = ProgressApp()
    async with app.run_test(size=(80, 24)) as pilot:
        progress = app.query_one(JobProgress)
        assert not progress.display  # nothing to show before the first event
        for done in range(1, 501):
            progress.handle(Progress("sync", "pushing", done, 500, eta=500 - done + 90))
        progress.handle(Activity("[/] a server message with brackets", "warning"))
        assert label(app, "#job-counts") == ""  # not drawn 500 times: drawn on the next tick
        await pilot.pause(0.25)
        assert label(app, "#job-counts") == "500 of 500 products · ETA 1 min 30 s"
        assert label(app, "#job-step") == "Pushing"
        log = app.query_one(Log)
        assert log.lines[-1] == "Warning: [/] a server message with brackets"


async def test_waiting_and_finished_are_said_in_words() -> None:
    app = ProgressApp()
    async with app.run_test(size=(80, 24)) as pilot:
        progress = app.query_one(JobProgress)
        progress.start("Sync")
        progress.handle(Progress("sync", "pushing", 1000, 2000, eta=60))
        progress.handle(Waiting("upsert", 59.6))
        await pilot.pause(0.25)
        assert "upsert call in 1 min 00 s" in label(app, "#job-note")
        progress.handle(Progress("sync", "done", 2000, 2000, eta=0))
        progress.handle(Finished(
            "sync", {"pushed": 2000, "set_to_0": 3, "failed": 0, "disabled": False, "seconds": 75.2}
        ))  # fmt: skip
        await pilot.pause()
        assert progress.finished
        assert label(app, "#job-counts") == "2,000 of 2,000 products"  # no ETA once done
        assert label(app, "#job-note") == ""
        assert progress.lines[-1] == "Done: 2,000 pushed, 3 set to 0, 0 failed, in 1 min 15 s"


async def test_replay_draws_what_happened_before_the_widget_existed() -> None:
    events = [
        Activity("Sync started."),
        Progress("sync", "reading WooCommerce", 30, 60, eta=None),
    ]
    app = ProgressApp()
    async with app.run_test(size=(80, 24)) as pilot:
        progress = app.query_one(JobProgress)
        progress.start("Sync")
        progress.replay(events)
        await pilot.pause()
        assert label(app, "#job-counts") == "30 of 60 products · ETA unknown"
        assert app.query_one(Log).lines == ["Sync started."]


def test_eta_reads_like_a_person_would_say_it() -> None:
    assert format_eta(None) == "ETA unknown"
    assert format_eta(0.2) == "ETA < 1 s"
    assert format_eta(42) == "ETA 42 s"
    assert format_eta(605) == "ETA 10 min 05 s"
    assert format_eta(3 * 3600 + 120) == "ETA 3 h 02 min"
