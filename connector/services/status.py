"""What `status` shows and the Account/Overview screens read: a plain dict, JSON-ready."""

from __future__ import annotations

import time
from typing import Any, cast

from connector.engine import (
    MIRAKL,
    MIRAKL_SECRET,
    WOO_KEY,
    WOO_SECRET,
    WOOCOMMERCE,
    Engine,
)
from connector.jobs import job_summary, settle_dead_jobs
from connector.settings import StateError
from connector.store import NOT_OURS, Account
from connector.words import count

NEEDS = {MIRAKL: (MIRAKL_SECRET,), WOOCOMMERCE: (WOO_KEY, WOO_SECRET)}
NEEDS_AUTHORIZATION_TEXT = "needs authorizing again"


def _account(account: Account | None, saved: set[str]) -> dict[str, Any] | None:
    """`needs_authorization`: the account is recorded but its secret is gone (the secrets
    file vanished or is damaged): it cannot work until it is authorized again."""
    if account is None:
        return None
    missing = any(name not in saved for name in NEEDS[account.kind])
    return {
        **account.details,
        "connected_since": account.connected_at,
        "needs_authorization": missing,
    }


def _saved_secrets(engine: Engine) -> set[str]:
    try:
        return engine.secrets.names()
    except StateError as error:  # damaged or unreadable: say so, show the accounts as such
        engine.warn(error.one_line())
        return set()


def from_woo(woo_products: int, linked: int) -> list[str]:
    """`1,500 WooCommerce products → 1,823 Mirakl Connect products`, and why they differ."""
    lines = [
        f"{woo_products:,} WooCommerce product{'' if woo_products == 1 else 's'} → "
        f"{linked:,} Mirakl Connect product{'' if linked == 1 else 's'}"
    ]
    if linked > woo_products:
        lines.append("(each variation is a product of its own on Mirakl Connect)")
    return lines


def accounts(engine: Engine) -> dict[str, Any]:
    """Only the two accounts of `status` (no counts: cheap enough for every screen switch)."""
    store = engine.peek_store()
    if store is None:
        return {"mirakl": None, "woocommerce": None}
    mirakl, woo = store.account(MIRAKL), store.account(WOOCOMMERCE)
    saved = _saved_secrets(engine) if mirakl or woo else set()
    return {"mirakl": _account(mirakl, saved), "woocommerce": _account(woo, saved)}


def open_job_kind(engine: Engine) -> str | None:
    """The kind of the journal's open job (`status`'s `job`), without `status`'s counts: the
    app asks it on its way to the first frame."""
    store = engine.peek_store()
    job = None if store is None else settle_dead_jobs(store)
    return None if job is None else job.kind


def last_sync_record(value: Any) -> dict[str, Any] | None:
    """The stored `last_sync`, in today's words (a record saved before `set_to_0` said
    `zeroed`)."""
    if not isinstance(value, dict):
        return None
    record = dict(value)
    if "zeroed" in record:
        record.setdefault("set_to_0", record.pop("zeroed"))
    return record


def status(engine: Engine, *, with_schedule: bool = False) -> dict[str, Any]:
    """The contract's `status --json`. Reads only: a fresh machine stays untouched.
    `with_schedule` adds `schedule` (it may ask systemctl: the CLI's, not every screen's)."""
    data = _status(engine)
    if with_schedule:
        from connector.services.schedule import state

        data["schedule"] = state(engine)
    return data


def _status(engine: Engine) -> dict[str, Any]:
    store = engine.peek_store()
    if store is None:
        return {
            **accounts(engine),
            "sync_products": False,
            "products": {
                "linked": 0,
                "taken_over": 0,
                "already_on_mirakl": 0,
                "woo_products": 0,
                "changed_by_disconnect": 0,
            },
            "job": None,
            "last_sync": None,
            "data_folder": str(engine.settings.home),
            "warnings": list(engine.warnings),
        }
    from connector.product_options import ProductOptions

    options = ProductOptions.from_dict(store.get_setting("product_options", {}))
    counts = store.ledger_counts()
    if "zeroed" in counts:  # the ledger's state, in the app's words
        counts["set_to_0"] = counts.pop("zeroed")
    # Woo products whose id the seller already had on Mirakl Connect: left alone, not ours.
    counts["already_on_mirakl"] = store.skipped_reasons().get(NOT_OURS, 0)
    counts["taken_over"] = store.linked_count("taken_over")
    counts["woo_products"] = store.linked_woo_products()
    job = settle_dead_jobs(store)
    # What an unfinished disconnect did already on Mirakl Connect (set to 0, or deleted).
    option = job.params.get("option") if job is not None and job.kind == "disconnect" else None
    changing = job is not None and option in ("deactivate", "delete")
    counts["changed_by_disconnect"] = job.done if job is not None and changing else 0
    return {
        **accounts(engine),
        "sync_products": options.sync_products,
        "products": {"linked": store.linked_count(), **counts},
        "job": None if job is None else job_summary(job),
        "last_sync": last_sync_record(store.get_setting("last_sync")),
        "data_folder": str(engine.settings.home),
        "warnings": list(engine.warnings),
    }


def disconnect_effect(current: dict[str, Any], what_next: str) -> str | None:
    """The line that says what an unfinished disconnect already changed on Mirakl Connect,
    with `what_next` (where to resume or cancel it); None when it changed nothing."""
    changed = int((current.get("products") or {}).get("changed_by_disconnect") or 0)
    job = current.get("job")
    if not changed or not job:
        return None
    option = (job.get("params") or {}).get("option")
    done = "deleted from (or set to 0 on)" if option == "delete" else "set to 0 on"
    changed_text = count(changed, "product")
    return f"{changed_text} {done} Mirakl Connect by an unfinished disconnect: {what_next}"


#: Seconds the Overview's figures may lag behind a running job's commits, on a key.
STALE_WHILE_RUNNING = 1.0


def overview(engine: Engine, *, max_age: float = 0.0) -> dict[str, Any]:
    """What the Overview shows: `status`, the skip reasons and the latest activity lines.

    Read again only when something was committed since the last read (or a runner took or
    left the lock): its counts go over the whole ledger, milliseconds at 20 000 products, and
    the Overview is shown again on every key that goes back to it.

    `max_age` (a key going back to the Overview): while a runner holds the lock, figures
    read up to that many seconds ago do, though it committed since; its progress shows the
    rest. A job's end or another process's commit reads afresh (the default)."""
    from connector.jobs import is_runner_active

    store = engine.peek_store()
    cached = engine.read_cache.get("overview")
    if store is not None and cached is not None:
        (store_id, stamp, running), read_at, value = cached
        same = store_id == id(store) and running == is_runner_active(store)
        if same and stamp == store.stamp():
            return cast(dict[str, Any], value)
        # A runner commits several times a second: a recount on every key would wait on it.
        if same and running and time.monotonic() - read_at < max_age:
            return cast(dict[str, Any], value)
    current = status(engine)
    store = engine.peek_store()
    value = {
        "status": current,
        "skipped_reasons": store.skipped_reasons() if store else {},
        "activity": store.recent_activity(10) if store else [],
    }
    if store is not None:  # stamped after the reads: what they wrote themselves is in it
        key = (id(store), store.stamp(), is_runner_active(store))
        engine.read_cache["overview"] = (key, time.monotonic(), value)
    return value
