"""After a disconnect's catalog step: what Mirakl Connect itself shows.

Mirakl Connect applies product changes asynchronously, so an accepted call is not yet a
product gone or at 0. Before the data folder is wiped, the seller's catalog is read back
(`GET /products`, its own paced operation, 1000 a page) and each of the connector's products
is counted: confirmed (gone, or every quantity 0, as the option asked), not yet, or not
checked (the pages read did not reach it). The read is bounded by a time budget, so it
never keeps the wipe waiting long: with Mirakl's one call a minute, that is usually the one
page whose slot is free.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from connector.pacing import Pacer
from connector.store import Store

PAGE_SIZE = 1000
#: Seconds the read-back may wait for its slots in all.
BUDGET_SECONDS = 10.0


@dataclass(frozen=True)
class Verification:
    confirmed: int
    not_yet: int
    unchecked: int
    complete: bool  # the whole catalog was read

    def line(self, option: str) -> str:
        done = "gone" if option == "delete" else "at quantity 0"
        text = f"Mirakl Connect shows {self.confirmed:,} of the connector's products {done}"
        if self.not_yet:
            text += f", {self.not_yet:,} not yet (it applies changes within minutes)"
        if self.unchecked:
            text += f"; {self.unchecked:,} not checked (read back one page at a time)"
        return text + "."

    def to_dict(self) -> dict[str, Any]:
        return {
            "confirmed": self.confirmed,
            "not_yet": self.not_yet,
            "unchecked": self.unchecked,
            "complete": self.complete,
        }


def _at_zero(product: dict[str, Any]) -> bool:
    quantities = product.get("quantities") or []
    return all(int(q.get("available_quantity") or 0) == 0 for q in quantities)


async def read_back(
    store: Store, client: Any, pacer: Pacer, option: str, budget: float = BUDGET_SECONDS
) -> Verification:
    """Count the connector's products as Mirakl Connect shows them now (read-only)."""
    # What each product should be: gone (deleted) or at 0 (deactivated, or taken over).
    expected = {
        row.mirakl_id: "gone" if option == "delete" and row.origin == "created" else "zero"
        for row in store.iter_linked()
    }
    confirmed = not_yet = 0
    deadline = time.monotonic() + budget
    complete = False
    pages = client.list_products(limit=PAGE_SIZE)
    try:
        while pacer.next_wait("list") <= deadline - time.monotonic():
            page = await anext(pages, None)
            if page is None:
                complete = True
                break
            for product in page:
                want = expected.pop(str(product.get("id")), None)
                if want is None:
                    continue  # not the connector's
                if want == "zero" and _at_zero(product):
                    confirmed += 1
                else:
                    not_yet += 1
            if len(page) < PAGE_SIZE:
                complete = True
                break
    finally:
        await pages.aclose()
    if complete:  # the rest were not in the catalog: gone, which is no less than at 0
        confirmed += len(expected)
        expected.clear()
    return Verification(confirmed, not_yet, len(expected), complete)
