"""The way out, as a journaled job: catalog step → store step → wipe → done.

The catalog step acts only on products in the ledger (never on the rest of the seller's
catalog), in batches of up to 1000, one call per interval, each accepted batch committed to
the journal before the next. Nothing is wiped before the catalog step has finished.
"""

from __future__ import annotations

import contextlib
import logging
import math
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from connector.engine import MIRAKL, WOOCOMMERCE, Engine
from connector.errors import NotConnected, UsageError
from connector.events import Activity, Finished, OnEvent, Progress, Waiting, ignore
from connector.jobs import journal_stop, runner_lock, settle_dead_jobs
from connector.mapping import zero_stock_payload
from connector.pacing import guard_for
from connector.store import Job, LedgerRow

CATALOG_OPTIONS = ("keep", "deactivate", "delete")
OPTION_LABELS = {
    "keep": "Disconnect & keep catalog active",
    "deactivate": "Deactivate Products",
    "delete": "Delete Products",
}
CONFIRM_WORD = "disconnect"
BATCH_SIZE = 1000
REVOKE_PATH = "WordPress admin › WooCommerce › Settings › Advanced › REST API"
log = logging.getLogger("connector.disconnect")


def confirmation_ok(text: str | None) -> bool:
    """Exactly the word `disconnect`, spaces around it ignored; no other spelling."""
    return (text or "").strip() == CONFIRM_WORD


@dataclass(frozen=True)
class DisconnectPlan:
    """What each option would touch, for the modal to say before anything happens."""

    linked: int
    interval: float
    mirakl: dict[str, Any] | None
    woocommerce: dict[str, Any] | None
    first_wait: float = 0.0

    def calls(self, option: str) -> int:
        return 0 if option == "keep" else math.ceil(self.linked / BATCH_SIZE)

    def eta(self, option: str) -> float:
        """Seconds: the first call waits for its slot, then one call per interval."""
        calls = self.calls(option)
        if calls == 0:
            return 0.0
        return self.first_wait + (calls - 1) * (self.interval + guard_for(self.interval))


@dataclass(frozen=True)
class Receipt:
    """What the merchant keeps after the data folder is gone."""

    option: str
    changed: int
    key_last7: str | None
    store_url: str | None
    company: str | None

    @property
    def revoke_hint(self) -> str:
        if not self.key_last7:
            return ""
        return f"Revoke the key ending in …{self.key_last7} in {REVOKE_PATH}."

    def lines(self) -> list[str]:
        action = {
            "keep": "Your products stay active on Mirakl Connect.",
            "deactivate": f"{self.changed} product(s) set to quantity 0 on Mirakl Connect.",
            "delete": f"{self.changed} product(s) deleted from Mirakl Connect.",
        }[self.option]
        lines = [
            "Disconnected. All of the connector's data was deleted from this computer.",
            action,
        ]
        if self.revoke_hint:
            lines.append(f"WooCommerce keys cannot be revoked remotely: {self.revoke_hint}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "revoke_hint": self.revoke_hint}


def plan(engine: Engine) -> DisconnectPlan:
    store = engine.peek_store()
    if store is None:
        return DisconnectPlan(0, engine.settings.min_interval, None, None)
    mirakl, woo = store.account(MIRAKL), store.account(WOOCOMMERCE)
    return DisconnectPlan(
        linked=store.linked_count(),
        interval=engine.settings.min_interval,
        mirakl=mirakl.details if mirakl else None,
        woocommerce=woo.details if woo else None,
        first_wait=engine.pacer(store).next_wait("delete"),
    )


def pending(engine: Engine) -> Job | None:
    """An unfinished disconnect (interrupted, failed, or running in another process)."""
    store = engine.peek_store()
    if store is None:
        return None
    return settle_dead_jobs(store, "disconnect")


async def run_disconnect(
    engine: Engine, option: str, confirm: str | None, on_event: OnEvent = ignore
) -> Receipt:
    """Run (or resume) the disconnect. Raises and keeps everything if Mirakl refuses or the
    network goes away; the same call resumes where it stopped."""
    if not confirmation_ok(confirm):
        raise UsageError(f"Type the word {CONFIRM_WORD!r} to confirm.", "Nothing was changed.")
    if option not in CATALOG_OPTIONS:
        raise UsageError(
            f"Unknown catalog option {option!r}.", f"Choose one of: {', '.join(CATALOG_OPTIONS)}."
        )
    store = engine.peek_store()
    if store is None or (store.account(MIRAKL) is None and store.account(WOOCOMMERCE) is None):
        raise NotConnected("Nothing is connected: there is nothing to disconnect.")

    with runner_lock(store):
        job = settle_dead_jobs(store, "disconnect")
        if job is not None:
            if job.params.get("option") != option:
                started = OPTION_LABELS[job.params.get("option", "keep")]
                raise UsageError(
                    f"A disconnect with “{started}” is unfinished; it must finish first.",
                    f"Resume it with --catalog {job.params.get('option')}.",
                )
            store.update_job(job.id, state="running", error=None)
            on_event(Activity(f"Resuming the disconnect at {job.done} of {job.total} products."))
        else:
            job = store.create_job("disconnect", {"option": option}, total=store.linked_count())
            store.log_activity(f"Disconnect started: {OPTION_LABELS[option]}.")
        try:
            changed = await _catalog_step(engine, job, option, on_event)
        except BaseException as error:
            journal_stop(store, job.id, "Disconnect", error)
            raise
        # store step: WooCommerce keys cannot be revoked over REST; the receipt names the key.
        store.update_job(job.id, step="wipe")
        woo, mirakl = store.account(WOOCOMMERCE), store.account(MIRAKL)
        receipt = Receipt(
            option=option,
            changed=changed,
            key_last7=woo.details.get("key_last7") if woo else None,
            store_url=woo.details.get("url") if woo else None,
            company=(mirakl.details.get("company_name") if mirakl else None),
        )
        on_event(Progress("disconnect", "deleting local data", job.total, job.total, 0.0))
        _wipe(engine)
    on_event(Finished("disconnect", receipt.to_dict()))
    return receipt


async def _catalog_step(engine: Engine, job: Job, option: str, on_event: OnEvent) -> int:
    store = engine.store
    done = store.job_item_count(job.id)
    total = job.total
    if option == "keep":
        return 0
    step = "deactivating products" if option == "deactivate" else "deleting products"
    store.update_job(job.id, step=step)
    interval = engine.settings.min_interval
    operation = "upsert" if option == "deactivate" else "delete"

    def eta(remaining: int, wait: float) -> float:
        calls = math.ceil(remaining / BATCH_SIZE)
        return 0.0 if calls == 0 else wait + (calls - 1) * (interval + guard_for(interval))

    pacer = engine.pacer(store)
    on_event(
        Progress("disconnect", step, done, total, eta(total - done, pacer.next_wait(operation)))
    )
    rows = store.iter_linked(not_done_in_job=job.id)
    batch = _take(rows)
    if not batch:  # resumed after the catalog step: no client needed (secrets may be gone)
        return done
    async with engine.mirakl_client() as mirakl:
        while batch:
            wait = pacer.next_wait(operation)
            if wait > 0.05:
                on_event(Waiting(operation, wait))
            if option == "deactivate":
                await mirakl.upsert_products(
                    [zero_stock_payload(row.mirakl_id, row.warehouses) for row in batch]
                )
            else:
                await mirakl.delete_products([row.mirakl_id for row in batch])
            done += len(batch)
            store.mark_job_items(job.id, (row.mirakl_id for row in batch), done=done)
            verb = "set to 0" if option == "deactivate" else "deleted"
            on_event(
                Activity(f"{len(batch)} product(s) {verb} on Mirakl Connect ({done}/{total}).")
            )
            remaining = eta(total - done, pacer.next_wait(operation))
            on_event(Progress("disconnect", step, done, total, remaining))
            batch = _take(rows)
    store.log_activity(f"Catalog step done: {done} product(s).")
    return done


def _wipe(engine: Engine) -> None:
    """Every file of the connector leaves the data folder: secrets first, the database last
    (a crash in between leaves the journal, so the next start finishes the wipe). Files that
    are not the connector's stay, and so does the folder then."""
    from connector.redact import setup_logging

    settings = engine.settings
    settings.secrets_path.unlink(missing_ok=True)
    setup_logging(None)
    shutil.rmtree(settings.log_dir, ignore_errors=True)
    shutil.rmtree(settings.cache_dir, ignore_errors=True)
    engine.close()
    for suffix in ("-wal", "-shm", "-journal", ""):
        settings.db_path.with_name(settings.db_path.name + suffix).unlink(missing_ok=True)
    (settings.home / "runner.lock").unlink(missing_ok=True)
    for leftover in settings.home.glob(".secrets.*.tmp"):
        leftover.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty: someone else's files live there too
        settings.home.rmdir()


def _take(rows: Iterator[LedgerRow]) -> list[LedgerRow]:
    return [row for _, row in zip(range(BATCH_SIZE), rows, strict=False)]
