"""Ownership: before the connector first pushes to a seller account (and whenever its ledger is
empty), it reads the seller's Mirakl Connect catalog and records which ids already exist.

Those products are the seller's. The sync leaves them alone (listed as "already on Mirakl
Connect, not created by the connector") unless the merchant opted in to take them over; a
disconnect never deletes one it did not create. The read is its own paced operation (`list`,
1000 products a page, one page per interval), so it runs beside upserts and deletes.
"""

from __future__ import annotations

from typing import Any

from connector.engine import MIRAKL, Engine
from connector.events import Activity, OnEvent, Progress, Waiting
from connector.pacing import guard_for
from connector.store import Store, now_iso

INVENTORY_KEY = "inventory"
STEP = "checking the Mirakl Connect catalog"
PAGE_SIZE = 1000


def account_key(store: Store) -> str | None:
    account = store.account(MIRAKL)
    if account is None:
        return None
    details = account.details
    return str(details.get("company_id") or details.get("client_id") or "")


def inventory_state(store: Store) -> dict[str, Any]:
    return dict(store.get_setting(INVENTORY_KEY) or {})


def inventory_needed(store: Store) -> bool:
    """No complete inventory of this seller account, or nothing of ours on it yet (the seller
    may have created products since the last one)."""
    state = inventory_state(store)
    return (
        not state.get("complete")
        or state.get("account") != account_key(store)
        or store.linked_count() == 0
    )


def record_inventory_page(store: Store, ids: list[str], *, complete: bool) -> None:
    """One page read (by the inventory, or by the probe of `connect`)."""
    store.add_foreign(ids)
    state = inventory_state(store)
    state.update(
        account=account_key(store),
        complete=complete,
        pages=int(state.get("pages", 0)) + 1,
        found=store.foreign_count(),
        finished_at=now_iso() if complete else None,
    )
    store.set_setting(INVENTORY_KEY, state)


async def run_inventory(engine: Engine, mirakl: Any, on_event: OnEvent) -> int:
    """Read the whole catalog; returns how many products the connector did not create."""
    store = engine.store
    store.forget_foreign()
    store.set_setting(INVENTORY_KEY, {"account": account_key(store), "complete": False})
    store.log_activity("Checking which products are already on Mirakl Connect.")
    interval = engine.settings.min_interval
    pacer = engine.pacer(store)
    found = 0
    on_event(Progress("sync", STEP, 0, 0, pacer.next_wait("list")))
    pages = mirakl.list_products(limit=PAGE_SIZE)
    try:
        while True:
            wait = pacer.next_wait("list")
            if wait > 0.05:
                on_event(Waiting("list", wait))
            page = await anext(pages, None)
            if page is None:
                break
            found += len(page)
            full = len(page) >= PAGE_SIZE
            # The catalog's size is not known before its last page: the total is what was
            # found plus one more page while pages come full; the ETA, one interval a page.
            eta = interval + guard_for(interval) if full else 0.0
            on_event(Progress("sync", STEP, found, found + (PAGE_SIZE if full else 0), eta))
            ids = [str(p["id"]) for p in page if isinstance(p, dict) and p.get("id")]
            record_inventory_page(store, ids, complete=False)
    finally:
        await pages.aclose()
    state = inventory_state(store)
    state.update(complete=True, finished_at=now_iso(), found=store.foreign_count())
    store.set_setting(INVENTORY_KEY, state)
    mine = store.foreign_count()
    message = (
        f"{mine:,} product{'s' if mine != 1 else ''} already on Mirakl Connect "
        "not created by the connector."
        if mine
        else "No product on Mirakl Connect besides the connector's."
    )
    store.log_activity(message)
    on_event(Activity(message))
    return mine
