"""One sync pass WooCommerce → Mirakl Connect, streamed: full batches of 1000, one call per
interval, WooCommerce read while the previous batch waits for its slot, memory flat."""

from __future__ import annotations

import asyncio
import html
import json
import math
import re
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any

from connector.engine import WOOCOMMERCE, Engine
from connector.errors import NotConnected, RemoteRejected, UsageError
from connector.events import Activity, Finished, OnEvent, Progress, Waiting, ignore
from connector.jobs import journal_stop, runner_lock
from connector.mapping import (
    PRODUCT_FIELDS,
    VARIATION_FIELDS,
    MappedProduct,
    Skipped,
    StoreContext,
    map_item,
    zero_stock_payload,
)
from connector.product_options import ProductOptions
from connector.services.inventory import STEP as INVENTORY_STEP
from connector.services.inventory import inventory_needed, run_inventory
from connector.store import NOT_OURS, LedgerRow, Store, now_iso
from connector.words import count

BATCH_SIZE = 1000
OPTIONS_KEY = "product_options"
MAX_WARNINGS_LOGGED = 100
# The sync shares the event loop with the screen, and a key reaches the screen in several
# steps of that loop: the sync hands the loop back after this many products mapped, and
# looks products up in the ledger this many at a time, so each step waits a few ms.
YIELD_EVERY = 5
LEDGER_CHUNK = 50
_INDEX = re.compile(r"products\[(\d+)\]")


def load_options(engine: Engine) -> ProductOptions:
    store = engine.peek_store()
    return ProductOptions.from_dict(store.get_setting(OPTIONS_KEY) if store else None)


def save_options(engine: Engine, options: ProductOptions) -> None:
    engine.store.set_setting(OPTIONS_KEY, options.to_dict())
    engine.store.log_activity(
        f"Product settings saved (sync {'on' if options.sync_products else 'off'})."
    )


@dataclass
class SyncReport:
    """What one pass did. `disabled` when Sync Product is off (nothing was pushed)."""

    pushed: int = 0
    unchanged: int = 0
    set_to_0: int = 0  # the app's words, and the JSON's
    failed: int = 0
    skipped: int = 0
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    warnings: int = 0
    calls: int = 0
    seconds: float = 0.0
    disabled: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def done_line(self) -> str:
        """`Sync done: 1,823 pushed, 0 unchanged, 2 set to 0, 0 failed, 3 skipped`."""
        return (
            f"Sync done: {self.pushed:,} pushed, {self.unchanged:,} unchanged, "
            f"{self.set_to_0:,} set to 0, {self.failed:,} failed, {self.skipped:,} skipped"
        )


@dataclass
class _Item:
    """One product on its way to Mirakl Connect: a mapped product or a stock-to-zero row."""

    mirakl_id: str
    woo_id: int
    woo_parent_id: int | None
    body: bytes  # the product as JSON: a third of the memory of the dict
    warehouses: list[str]
    payload_hash: str | None
    state_after: str  # "pushed" or "zeroed"
    origin: str = "created"

    def row(
        self, state: str, *, on_mirakl: bool, keep_hash: bool = True, error: str | None = None
    ) -> LedgerRow:
        """The ledger row of this product in `state` (no hash: the next pass sends it again)."""
        return LedgerRow(
            self.mirakl_id,
            self.woo_id,
            self.woo_parent_id,
            self.warehouses,
            self.payload_hash if keep_hash else None,
            state,
            error,
            on_mirakl,
            origin=self.origin,
        )


class _Pass:
    """The state of one pass: counters for the report and the figures behind the ETA."""

    def __init__(
        self, engine: Engine, store: Store, number: int, on_event: OnEvent, job_id: int
    ) -> None:
        self.job_id = job_id
        self._last_journal = 0.0
        self.engine = engine
        self.store = store
        self.number = number
        self.on_event = on_event
        self.report = SyncReport()
        self.read = 0
        self.total: int | None = None
        self.queued = 0
        self.started = time.monotonic()
        self.interval = engine.settings.min_interval
        self.step = "reading WooCommerce"
        self._last_progress = 0.0

    def eta(self) -> float | None:
        elapsed = time.monotonic() - self.started
        if not self.total or not self.read:
            return None
        remaining_read = max(0, self.total - self.read) * elapsed / self.read
        changed_rate = (self.queued + self.report.pushed) / self.read
        to_push = self.queued + max(0, self.total - self.read) * changed_rate
        return max(remaining_read, max(0, math.ceil(to_push / BATCH_SIZE) - 1) * self.interval)

    def progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_progress >= 0.1:
            self._last_progress = now
            total = max(self.total or 0, self.read)
            self.on_event(Progress("sync", self.step, self.read, total, self.eta()))
            if force or now - self._last_journal >= 1.0:  # what `jobs` and other apps read
                self._last_journal = now
                self.store.update_job(self.job_id, step=self.step, done=self.read, total=total)


def _variations_read(product: dict[str, Any], options: ProductOptions) -> bool:
    """Whether the sync reads this product's variations: a variable product whose own status
    is pushed. Any other's would all be skipped, each read costing the store a PHP request."""
    status = str(product.get("status") or "publish")
    return product.get("type") == "variable" and status in options.statuses


async def _pages_with_variations(
    woo: Any, sync: _Pass, options: ProductOptions
) -> AsyncIterator[tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]]:
    """Pages in store order, each with the variations of its variable products whose status
    is pushed; the variations of the next page are already on their way while this one is
    mapped (at most two pages held). Only the fields the mapping reads are asked for.

    No reader task and no end marker: the page reader is this generator's own loop, so a
    failing store raises here, in the consumer; every variations task is awaited or cancelled
    (and its end awaited) before this generator ends, however it ends."""
    ahead: deque[tuple[list[dict[str, Any]], asyncio.Task[dict[int, list[dict[str, Any]]]]]]
    ahead = deque()

    async def variations_of(page: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
        variable = [p["id"] for p in page if _variations_read(p, options)]
        async with asyncio.TaskGroup() as group:  # one fails: the others are cancelled
            found = [
                group.create_task(woo.list_variations(pid, fields=VARIATION_FIELDS))
                for pid in variable
            ]
        return {pid: task.result() for pid, task in zip(variable, found, strict=True)}

    try:
        async for page in woo.iter_product_pages(status="any", fields=PRODUCT_FIELDS):
            if sync.total is None:
                sync.total = getattr(woo, "total_products", None) or None
            ahead.append((page, asyncio.create_task(variations_of(page))))
            if len(ahead) > 1:
                page, task = ahead.popleft()
                yield page, await task
        while ahead:
            page, task = ahead.popleft()
            yield page, await task
    finally:
        tasks = [task for _, task in ahead]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _items(
    engine: Engine, sync: _Pass, options: ProductOptions, context: StoreContext
) -> AsyncIterator[MappedProduct | Skipped]:
    """Every simple product and every variation, mapped, in store order."""
    async with engine.woo_client() as woo:
        saved_by_engine = woo.on_auth_mode

        def switched(mode: str) -> None:  # the host began stripping the header: say it
            if saved_by_engine is not None:
                saved_by_engine(mode)
            if woo.auth_notice:
                sync.on_event(Activity(woo.auth_notice, "warning"))

        woo.on_auth_mode = switched
        async for page, by_parent in _pages_with_variations(woo, sync, options):
            for product in page:
                if product.get("type") == "variable" and product["id"] in by_parent:
                    for variation in by_parent[product["id"]]:
                        yield map_item(product, variation, context, options)
                elif product.get("type") == "variable":
                    yield _unread(product, context, options)
                else:
                    yield map_item(product, None, context, options)
                sync.read += 1
                if sync.read % YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # let the screen answer keys between products
            sync.progress()


def _unread(product: dict[str, Any], context: StoreContext, options: ProductOptions) -> Skipped:
    """A variable product whose variations were not read (its status is not pushed): skipped
    once, under its own id, for the reason the mapping gives each of its variations."""
    result = map_item(product, {}, context, options)
    reason = result.reason if isinstance(result, Skipped) else "status not synced"
    return Skipped(int(product["id"]), None, _name(product), reason)


def _name(product: dict[str, Any]) -> str:
    return html.unescape(str(product.get("name") or "")).strip()


async def _batches(
    engine: Engine, sync: _Pass, options: ProductOptions, context: StoreContext
) -> AsyncIterator[list[_Item]]:
    """Full batches of changed products, then products to set to zero; the last one partial."""
    store, number = sync.store, sync.number
    batch: list[_Item] = []
    page: list[MappedProduct] = []
    skipped: list[tuple[int, int | None, str, str]] = []
    warnings_logged = 0

    def take(mapped: list[MappedProduct]) -> list[_Item]:
        nonlocal warnings_logged
        known = store.ledger_rows(m.mirakl_id for m in mapped)
        theirs = store.foreign_among(m.mirakl_id for m in mapped if m.mirakl_id not in known)
        fresh: list[_Item] = []
        seen: list[str] = []
        waiting: list[LedgerRow] = []
        in_page: set[str] = set()
        for m in mapped:
            old = known.get(m.mirakl_id)
            if m.mirakl_id in in_page or (
                old is not None and old.seen_pass == number and old.woo_id != m.woo_id
            ):
                skipped.append((m.woo_id, m.woo_parent_id, m.mirakl_id, "duplicate SKU"))
                continue
            in_page.add(m.mirakl_id)
            origin = old.origin if old is not None else "created"
            if m.mirakl_id in theirs:
                if not options.take_over_existing:
                    skipped.append((m.woo_id, m.woo_parent_id, m.mirakl_id, NOT_OURS))
                    continue
                origin = "taken_over"
            for warning in m.warnings:
                sync.report.warnings += 1
                if warnings_logged < MAX_WARNINGS_LOGGED:
                    warnings_logged += 1
                    store.log_activity(f"{m.mirakl_id}: {warning}", "warning")
            if old is not None and old.state == "pushed" and old.payload_hash == m.payload_hash:
                seen.append(m.mirakl_id)
                sync.report.unchanged += 1
                continue
            warehouses = sorted(set(m.warehouses) | set(old.warehouses if old else []))
            waiting.append(
                LedgerRow(
                    m.mirakl_id,
                    m.woo_id,
                    m.woo_parent_id,
                    warehouses,
                    m.payload_hash,
                    "waiting",
                    None,
                    bool(old and old.on_mirakl),
                    origin=origin,
                )
            )
            fresh.append(
                _Item(
                    m.mirakl_id,
                    m.woo_id,
                    m.woo_parent_id,
                    _encode(m.payload),
                    warehouses,
                    m.payload_hash,
                    "pushed",
                    origin,
                )
            )
        store.mark_seen(seen, number)
        store.write_ledger(waiting, seen_pass=number)
        sync.queued += len(fresh)
        return fresh

    async for result in _items(engine, sync, options, context):
        if isinstance(result, Skipped):
            skipped.append((result.woo_id, result.woo_parent_id, result.name, result.reason))
        else:
            page.append(result)
        if len(page) >= LEDGER_CHUNK:
            batch.extend(take(page))
            page.clear()
            await asyncio.sleep(0)
        if len(skipped) >= 500:
            store.record_skipped(skipped, number)
            skipped.clear()
        while len(batch) >= BATCH_SIZE:
            yield batch[:BATCH_SIZE]
            batch = batch[BATCH_SIZE:]
    batch.extend(take(page))
    store.record_skipped(skipped, number)
    store.forget_skipped_before(number)

    # Products pushed before that this pass did not meet (removed, unpublished, filtered out):
    # stock to zero, never a silent delete.
    for row in store.iter_unseen(number):
        batch.append(
            _Item(
                row.mirakl_id,
                row.woo_id,
                row.woo_parent_id,
                _encode(zero_stock_payload(row.mirakl_id, row.warehouses)),
                row.warehouses,
                row.payload_hash,
                "zeroed",
                row.origin,
            )
        )
        sync.queued += 1
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


async def _push(engine: Engine, sync: _Pass, mirakl: Any, batch: list[_Item]) -> None:
    """One upsert call; a 400 naming products marks those failed and resends the rest."""
    store = sync.store
    while batch:
        wait = engine.pacer(store).next_wait("upsert")
        if wait > 0.05:
            sync.on_event(Waiting("upsert", wait))
        # Intent first: committed before the request leaves. From here until an answer, a
        # crash leaves these products known as possibly on Mirakl Connect.
        store.mark_intent(item.mirakl_id for item in batch)
        try:
            await mirakl.upsert_products([item.body for item in batch])
        except RemoteRejected as error:
            sync.report.calls += 1
            reasons = _rejected(error, len(batch))
            rejected = [batch[i] for i in sorted(reasons)]
            # A definitive refusal (none of the batch was saved): only now is the mark cleared.
            store.write_ledger(
                batch[index].row("failed", on_mirakl=False, keep_hash=False, error=reason)
                for index, reason in sorted(reasons.items())
            )
            store.clear_intent(item.mirakl_id for item in rejected)
            sync.report.failed += len(rejected)
            sync.queued -= len(rejected)
            refused = f"Mirakl Connect refused {count(len(rejected), 'product')}"
            store.log_activity(f"{refused}: {error.message}", "error")
            sync.on_event(Activity(f"{refused}.", "error"))
            batch = [item for i, item in enumerate(batch) if i not in reasons]
            continue
        sync.report.calls += 1
        # One transaction, no await inside: once Mirakl accepted the batch, the ledger says so
        # for every product of it, or a later disconnect could miss some of them.
        store.write_ledger(item.row(item.state_after, on_mirakl=True) for item in batch)
        zeroed = sum(1 for item in batch if item.state_after == "zeroed")
        sync.report.set_to_0 += zeroed
        sync.report.pushed += len(batch) - zeroed
        sync.queued -= len(batch)
        accepted = f"Mirakl Connect accepted {count(len(batch), 'product')}."
        store.log_activity(accepted)
        sync.on_event(Activity(accepted))
        sync.progress(force=True)
        return


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _rejected(error: RemoteRejected, size: int) -> dict[int, str]:
    """Which items of the batch Mirakl Connect named in its field errors, with the reason;
    all of them when it named none."""
    reasons: dict[int, str] = {}
    for item in error.errors:
        for index in _INDEX.findall(item.get("field", "")):
            if int(index) < size:
                reasons.setdefault(int(index), item.get("message") or error.message)
    return reasons or dict.fromkeys(range(size), error.message)


async def run_sync(engine: Engine, on_event: OnEvent = ignore) -> SyncReport:
    """One full pass. Re-running after a crash is safe: only what changed is sent again."""
    options = load_options(engine)
    store = engine.peek_store()
    if store is None or store.account(WOOCOMMERCE) is None:
        raise NotConnected(
            "No WooCommerce store is connected.",
            "Run `mirakl-woo connect woocommerce --url URL --consumer-key CK`.",
        )
    if not options.sync_products:
        line = "Sync Product is off in Product Settings: nothing was pushed."
        store.log_activity(line)  # what an app watching this runner shows
        on_event(Activity(line))
        return SyncReport(disabled=True)
    mirakl = engine.mirakl_client()
    account = store.account(WOOCOMMERCE)
    assert account is not None
    context = StoreContext(
        currency=account.details.get("currency") or "EUR",
        locale=options.locale or account.details.get("language") or "en_US",
    )
    with runner_lock(store):
        if store.open_job("disconnect") is not None:
            raise UsageError(
                "A disconnect is unfinished: no sync until it is done.",
                "Resume it (`mirakl-woo jobs resume`, or the Account screen), or call it off "
                "to stay connected (`mirakl-woo jobs cancel`).",
            )
        number = int(store.get_setting("sync_pass", 0)) + 1
        store.set_setting("sync_pass", number)
        store.close_open_jobs("sync", "superseded")  # this pass redoes what they left
        job = store.create_job("sync", {"pass": number}, total=0)
        sync = _Pass(engine, store, number, on_event, job.id)
        store.log_activity("Sync started.")
        on_event(Activity("Sync started."))
        try:
            async with mirakl:
                if inventory_needed(store):  # ownership: what is the seller's stays theirs
                    sync.step = INVENTORY_STEP
                    await run_inventory(engine, mirakl, on_event)
                    sync.step = "reading WooCommerce"
                # the token is fetched while the first batch is read, not when it is ready
                token = asyncio.create_task(mirakl.authenticate())
                queue: asyncio.Queue[list[_Item] | None] = asyncio.Queue(maxsize=1)

                async def produce() -> None:
                    async for batch in _batches(engine, sync, options, context):
                        await queue.put(batch)
                        store.update_job(job.id, done=sync.read, total=sync.total or sync.read)
                    await queue.put(None)

                async def consume() -> None:
                    await token
                    while (batch := await queue.get()) is not None:
                        sync.step = "pushing to Mirakl Connect"
                        await _push(engine, sync, mirakl, batch)
                        sync.step = "reading WooCommerce"

                async with asyncio.TaskGroup() as group:
                    group.create_task(produce())
                    group.create_task(consume())
        except BaseException as error:
            journal_stop(store, job.id, "Sync", _unwrap(error))
            raise _unwrap(error) from None
        report = sync.report
        report.seconds = round(time.monotonic() - sync.started, 3)
        report.skipped_reasons = store.skipped_reasons()
        report.skipped = sum(report.skipped_reasons.values())
        store.update_job(job.id, state="done", done=sync.read, total=sync.read)
        store.set_setting("last_sync", {"finished_at": now_iso(), **report.to_dict()})
        store.log_activity(f"{report.done_line()}.")
        sync.step = "done"
        sync.progress(force=True)
        on_event(Finished("sync", report.to_dict()))
        return report


def _unwrap(error: BaseException) -> BaseException:
    """A TaskGroup wraps the first failure in an ExceptionGroup: surface the real error."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error
