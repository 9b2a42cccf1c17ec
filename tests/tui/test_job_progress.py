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


class NarrowApp(App[None]):
    """A JobProgress above a line, to see whether the progress's height follows its text."""

    def compose(self) -> ComposeResult:
        yield JobProgress("Sync", id="progress", hide_when_idle=False)
        yield Label("below", id="below")


async def test_a_note_too_long_for_its_line_wraps_and_pushes_what_is_below() -> None:
    app = NarrowApp()
    async with app.run_test(size=(40, 30)) as pilot:
        progress = app.query_one(JobProgress)
        progress.start("Sync")
        progress.handle(Progress("sync", "pushing", 10, 20, eta=60))
        progress.handle(Waiting("upsert", 5))
        await pilot.pause(0.25)
        note = app.query_one("#job-note", Label)
        below = app.query_one("#below", Label)
        assert note.size.height > 1  # "Next Mirakl Connect upsert call in 5 s (…)" at 40 columns
        wrapped_at = below.region.y
        progress.handle(Progress("sync", "pushing", 11, 20, eta=50))  # clears the note
        await pilot.pause(0.25)
        assert note.size.height == 1
        assert below.region.y == wrapped_at - 1
        progress.handle(Progress("sync", "pushing", 12, 20, eta=40))  # a same-size update
        await pilot.pause(0.25)
        assert label(app, "#job-counts") == "12 of 20 products · ETA 40 s"
        assert below.region.y == wrapped_at - 1


async def test_the_log_shows_its_latest_line_and_scrolls_over_all_of_them() -> None:
    app = ProgressApp()
    async with app.run_test(size=(80, 24)) as pilot:
        progress = app.query_one(JobProgress)
        progress.start("Sync")
        for number in range(1, 31):
            progress.handle(Activity(f"line {number}"))
            progress.flush()  # one line drawn at a time, as a slow job writes them
            await pilot.pause()
        await pilot.pause()
        log = app.query_one(Log)
        rows = range(log.scrollable_content_region.height)
        shown = [log.render_line(y).text.strip() for y in rows]
        assert shown[-1] == "line 30"
        assert log.vertical_scrollbar.window_virtual_size == 30
        log.scroll_home(animate=False)
        await pilot.pause()
        assert log.render_line(0).text.strip() == "line 1"
