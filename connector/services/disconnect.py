"""The way out, as a journaled job: catalog step → store step → wipe → done.

The catalog step acts only on products in the ledger (never on the rest of the seller's
catalog), in batches of up to 1000, one call per interval, each accepted batch committed to
the journal before the next. Nothing is wiped before the catalog step has finished.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from connector.engine import MIRAKL, WOOCOMMERCE, Engine
from connector.errors import ConnectorError, NotConnected, UsageError
from connector.events import Activity, Finished, OnEvent, Progress, Waiting, ignore
from connector.jobs import journal_stop, runner_lock, settle_dead_jobs
from connector.mapping import zero_stock_payload
from connector.pacing import guard_for
from connector.services import schedule
from connector.services.verify import Verification, read_back
from connector.services.wipe import wipe_data_folder
from connector.store import Job, LedgerRow
from connector.words import count

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
    taken_over: int = 0  # of `linked`: the seller's before, taken over by the merchant's choice
    scheduled: Literal["systemd", "cron"] | None = None  # a scheduled sync goes too

    @property
    def created(self) -> int:
        return self.linked - self.taken_over

    def calls(self, option: str) -> int:
        if option == "keep":
            return 0
        if option == "deactivate":
            return math.ceil(self.linked / BATCH_SIZE)
        # delete: the connector's own products are deleted; taken-over ones only set to 0
        return math.ceil(self.created / BATCH_SIZE) + math.ceil(self.taken_over / BATCH_SIZE)

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
    taken_over: int = 0  # of `changed`: products that were the seller's before (set to 0 only)
    verification: Verification | None = None  # what Mirakl Connect showed before the wipe
    schedule: str | None = None  # what became of the scheduled sync, if there was one

    @property
    def revoke_hint(self) -> str:
        if not self.key_last7:
            return ""
        return f"Revoke the key ending in …{self.key_last7} in {REVOKE_PATH}."

    def lines(self) -> list[str]:
        created = self.changed - self.taken_over
        action = {
            "keep": "Your products stay active on Mirakl Connect.",
            "deactivate": f"{count(self.changed, 'product')} set to quantity 0 on Mirakl Connect.",
            "delete": f"{count(created, 'product')} deleted from Mirakl Connect.",
        }[self.option]
        lines = [
            "Disconnected. All of the connector's data was deleted from this computer.",
            action,
        ]
        if self.option == "delete" and self.taken_over:
            lines.append(
                f"{count(self.taken_over, 'product')} that were on Mirakl Connect before the "
                "connector took them over were set to quantity 0, not deleted."
            )
        if self.verification is not None:
            lines.append(self.verification.line(self.option))
        if self.schedule:
            lines.append(self.schedule)
        if self.revoke_hint:
            lines.append(f"WooCommerce keys cannot be revoked remotely: {self.revoke_hint}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "revoke_hint": self.revoke_hint}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Receipt | None:
        """The receipt a runner printed (`--json`); None when `data` is not one."""
        try:
            checked = data.get("verification")
            return cls(
                option=str(data["option"]),
                changed=int(data["changed"]),
                key_last7=data.get("key_last7"),
                store_url=data.get("store_url"),
                company=data.get("company"),
                taken_over=int(data.get("taken_over") or 0),
                verification=Verification(**checked) if isinstance(checked, dict) else None,
                schedule=data.get("schedule") if isinstance(data.get("schedule"), str) else None,
            )
        except (KeyError, TypeError, ValueError):
            return None


def schedule_line(engine: Engine, scheduled: str | None) -> str | None:
    """The receipt's line about the scheduled sync `scheduled` (see `schedule.installed`):
    the systemd timer goes with the connection (`_remove_timer`, after the wipe); a cron line,
    which the merchant installed, is theirs to remove."""
    if scheduled == "systemd":
        timer = f"{schedule.unit_name(engine)}.timer"
        return f"The scheduled sync was removed (systemd user timer {timer})."
    if scheduled == "cron":
        return (
            "The cron line printed for this data folder does nothing while the folder is not "
            "connected: remove it from your crontab (crontab -e)."
        )
    return None


def _remove_timer(engine: Engine) -> str | None:
    """After the wipe: the systemd timer of this data folder disabled and its files deleted.
    None when done, else the receipt's line instead. Runs after the wipe so that a disconnect
    interrupted or cancelled before it keeps its schedule; a crash just before it leaves a
    timer that skips every run while the folder is not connected (its service needs the
    database)."""
    try:
        schedule.remove_timer(engine)
    except (ConnectorError, OSError) as error:
        said = error.message if isinstance(error, ConnectorError) else str(error)
        log.warning("the scheduled sync was not removed: %s", said)
        return (
            f"The scheduled sync (systemd user timer {schedule.unit_name(engine)}.timer) was "
            f"not removed ({said.rstrip('.')}); it does nothing while this folder is not "
            "connected. Remove it with `mirakl-woo schedule remove`."
        )
    return None


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
        taken_over=store.linked_count("taken_over"),
        scheduled=schedule.installed(engine),
    )


def pending(engine: Engine) -> Job | None:
    """An unfinished disconnect (interrupted, failed, or running in another process)."""
    store = engine.peek_store()
    if store is None:
        return None
    return settle_dead_jobs(store, "disconnect")


async def run_disconnect(
    engine: Engine,
    option: str,
    confirm: str | None,
    on_event: OnEvent = ignore,
    *,
    verify: bool = True,
) -> Receipt:
    """Run (or resume) the disconnect. Raises and keeps everything if Mirakl refuses or the
    network goes away; the same call resumes where it stopped. `verify`: read the catalog
    back after the catalog step (bounded) and say what Mirakl Connect shows."""
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
            # "Keep" changes no product: no count to show ("1,823 of 1,823" would say it did).
            total = store.linked_count() if option != "keep" else 0
            job = store.create_job("disconnect", {"option": option}, total=total)
            store.log_activity(f"Disconnect started: {OPTION_LABELS[option]}.")
        taken_over = store.linked_count("taken_over") if option != "keep" else 0
        verification = None
        try:
            changed = await _catalog_step(engine, job, option, on_event)
            if verify and option != "keep":
                verification = await _read_back(engine, job, option, on_event)
        except BaseException as error:
            journal_stop(store, job.id, "Disconnect", error)
            raise
        # store step: WooCommerce keys cannot be revoked over REST; the receipt names the key.
        store.update_job(job.id, step="wipe")
        woo, mirakl = store.account(WOOCOMMERCE), store.account(MIRAKL)
        scheduled = schedule.installed(engine)
        receipt = Receipt(
            option=option,
            changed=changed,
            key_last7=woo.details.get("key_last7") if woo else None,
            store_url=woo.details.get("url") if woo else None,
            company=(mirakl.details.get("company_name") if mirakl else None),
            taken_over=taken_over,
            verification=verification,
            schedule=schedule_line(engine, scheduled),
        )
        on_event(Progress("disconnect", "deleting local data", job.total, job.total, 0.0))
        wipe_data_folder(engine)
        if scheduled == "systemd":
            failure = _remove_timer(engine)
            if failure is not None:
                receipt = replace(receipt, schedule=failure)
    on_event(Finished("disconnect", receipt.to_dict()))
    return receipt


#: What each option does, phase by phase: (operation, which of the connector's products).
#: Delete removes only what the connector created; products it took over (they were the
#: seller's before) are set to 0, never deleted.
PHASES: dict[str, tuple[tuple[str, str | None], ...]] = {
    "keep": (),
    "deactivate": (("upsert", None),),
    "delete": (("delete", "created"), ("upsert", "taken_over")),
}


async def _catalog_step(engine: Engine, job: Job, option: str, on_event: OnEvent) -> int:
    store = engine.store
    done = store.job_item_count(job.id)
    total = job.total
    if option == "keep":
        return 0
    step = "deactivating products" if option == "deactivate" else "deleting products"
    store.update_job(job.id, step=step)
    interval = engine.settings.min_interval
    pacer = engine.pacer(store)

    def eta(remaining: int, wait: float) -> float:
        calls = math.ceil(remaining / BATCH_SIZE)
        return 0.0 if calls == 0 else wait + (calls - 1) * (interval + guard_for(interval))

    first = PHASES[option][0][0]
    on_event(Progress("disconnect", step, done, total, eta(total - done, pacer.next_wait(first))))
    client = None
    try:
        for operation, origin in PHASES[option]:
            rows = store.iter_linked(not_done_in_job=job.id, origin=origin)
            batch = _take(rows)
            while batch:
                if client is None:  # resumed after the catalog step: no client (secrets gone)
                    client = engine.mirakl_client()
                wait = pacer.next_wait(operation)
                if wait > 0.05:
                    on_event(Waiting(operation, wait))
                    # Waited here, so the intent below is written as the call leaves (the
                    # client takes the slot): stopped while waiting, nothing was sent.
                    await asyncio.sleep(wait)
                ids = [row.mirakl_id for row in batch]
                # Intent first: the journal knows this batch may be applied before it leaves.
                store.mark_job_sent(job.id, ids)
                if operation == "upsert":
                    await client.upsert_products(
                        [zero_stock_payload(row.mirakl_id, row.warehouses) for row in batch]
                    )
                else:
                    await client.delete_products(ids)
                done += len(batch)
                store.mark_job_items(job.id, ids, done=done)
                verb = "set to 0" if operation == "upsert" else "deleted"
                changed = count(len(batch), "product")
                on_event(Activity(f"{changed} {verb} on Mirakl Connect ({done:,}/{total:,})."))
                remaining = eta(total - done, pacer.next_wait(operation))
                on_event(Progress("disconnect", step, done, total, remaining))
                batch = _take(rows)
    finally:
        if client is not None:
            await client.aclose()
    if client is not None:
        store.log_activity(f"Catalog step done: {count(done, 'product')}.")
    return done


async def _read_back(
    engine: Engine, job: Job, option: str, on_event: OnEvent
) -> Verification | None:
    """What Mirakl Connect shows now; None when it cannot be read (the disconnect goes on:
    the catalog step was accepted, the read-back only reports)."""
    store = engine.store
    store.update_job(job.id, step="verifying")
    on_event(Progress("disconnect", "checking what Mirakl Connect shows", job.total, job.total, 0))
    try:
        client = engine.mirakl_client()
    except ConnectorError as error:  # resumed after the wipe began: the secrets are gone
        log.info("no read-back: %s", error.one_line())
        return None
    try:
        verification = await read_back(store, client, engine.pacer(store), option)
    except ConnectorError as error:
        log.info("read-back failed: %s", error.one_line())
        return None
    finally:
        await client.aclose()
    store.log_activity(verification.line(option))
    return verification


def _take(rows: Iterator[LedgerRow]) -> list[LedgerRow]:
    return [row for _, row in zip(range(BATCH_SIZE), rows, strict=False)]
