"""Calling off an unfinished job, and staying connected.

A disconnect interrupted part-way (an SSH drop, a kill, a failure) must not force the
merchant to finish delisting the whole catalog. Called off, it keeps both accounts and the
ledger; every product it had set to 0 or deleted is marked to be pushed again, so the next
sync puts it back as WooCommerce has it. A sync called off simply stops where it is (what
it pushed is recorded; the next pass reads the store afresh).

A job running in another process is asked to stop first (SIGTERM: it journals where it is
and exits); the wait for it has an end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from connector.engine import Engine
from connector.errors import NotConnected
from connector.jobs import JobBusy, is_runner_active, runner_lock, settle_dead_jobs, stop_runner

#: How long a runner asked to stop may take to let the data folder go.
STOP_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Cancelled:
    """What calling off did, for the app and the CLI to say."""

    kind: str
    option: str | None
    done: int  # products the job had handled
    restored: int  # products it changed, which the next sync pushes again
    maybe: int = 0  # products it sent but never heard back about: pushed again too

    def lines(self) -> list[str]:
        if self.kind == "sync":
            return [
                f"The sync was called off after {self.done:,} products; what it pushed is "
                "recorded. The next sync reads the store afresh."
            ]
        lines = ["The disconnect was called off: both accounts stay connected."]
        if self.restored or self.maybe:
            verb = "deleted" if self.option == "delete" else "set to 0"
            noun = "product" if self.restored == 1 else "products"
            maybe = f" (and {self.maybe:,} it may have)" if self.maybe else ""
            lines.append(
                f"{self.restored:,} {noun} it had {verb} on Mirakl Connect{maybe} will be "
                "pushed again by the next sync."
            )
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "option": self.option,
            "done": self.done,
            "restored": self.restored,
            "maybe": self.maybe,
            "message": " ".join(self.lines()),
        }


def cancel_job(engine: Engine, *, stop_wait: float = STOP_WAIT_SECONDS) -> Cancelled | None:
    """Call off the open job (stopping its runner first); None when no job is open."""
    store = engine.peek_store()
    if store is None:
        raise NotConnected("Nothing is connected: there is no job to call off.")
    if stop_runner(store):
        deadline = time.monotonic() + stop_wait
        while is_runner_active(store):
            if time.monotonic() > deadline:
                raise JobBusy(
                    f"The process running the job did not stop within {stop_wait:.0f} s.",
                    "Nothing was called off. Try again, or stop that process yourself.",
                )
            time.sleep(0.1)
    with runner_lock(store):
        job = settle_dead_jobs(store)
        if job is None:
            return None
        option = job.params.get("option") if job.kind == "disconnect" else None
        restored = maybe = 0
        if job.kind == "disconnect":
            deleted = "created" if option == "delete" else None
            restored, maybe = store.requeue_job_items(job.id, deleted_origin=deleted)
        store.update_job(job.id, state="cancelled")
        result = Cancelled(job.kind, option, job.done, restored, maybe)
        store.log_activity(" ".join(result.lines()), "warning")
        return result
