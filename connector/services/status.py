"""What `status` shows and the Account/Overview screens read: a plain dict, JSON-ready."""

from __future__ import annotations

from typing import Any

from connector.engine import MIRAKL, WOOCOMMERCE, Engine
from connector.jobs import job_summary, settle_dead_jobs
from connector.store import Account


def _account(account: Account | None) -> dict[str, Any] | None:
    if account is None:
        return None
    return {**account.details, "connected_since": account.connected_at}


def accounts(engine: Engine) -> dict[str, Any]:
    """Only the two accounts of `status` (no counts: cheap enough for every screen switch)."""
    store = engine.peek_store()
    if store is None:
        return {"mirakl": None, "woocommerce": None}
    return {
        "mirakl": _account(store.account(MIRAKL)),
        "woocommerce": _account(store.account(WOOCOMMERCE)),
    }


def status(engine: Engine) -> dict[str, Any]:
    """The contract's `status --json`. Reads only: a fresh machine stays untouched."""
    store = engine.peek_store()
    if store is None:
        return {
            **accounts(engine),
            "sync_products": False,
            "products": {"linked": 0},
            "job": None,
            "data_folder": str(engine.settings.home),
        }
    from connector.product_options import ProductOptions

    options = ProductOptions.from_dict(store.get_setting("product_options", {}))
    counts = store.ledger_counts()
    job = settle_dead_jobs(store)
    return {
        **accounts(engine),
        "sync_products": options.sync_products,
        "products": {"linked": store.linked_count(), **counts},
        "job": None if job is None else job_summary(job),
        "last_sync": store.get_setting("last_sync"),
        "data_folder": str(engine.settings.home),
    }
