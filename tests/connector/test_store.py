from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from connector.pacing import Pacer
from connector.secret import Secret
from connector.secrets_file import SecretsFile
from connector.store import MIGRATIONS, LedgerRow, Store


def row(mirakl_id: str, state: str = "pushed", on_mirakl: bool = True) -> LedgerRow:
    return LedgerRow(mirakl_id, 1, None, [""], "h", state, None, on_mirakl)


def test_migrations_set_user_version_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    store = Store(path)
    assert store.schema_version == len(MIGRATIONS)
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert path.stat().st_mode & 0o777 == 0o600
    # opening again does not migrate twice
    Store(path).close()


def test_accounts_keep_connected_since(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    first = store.save_account("mirakl", {"client_id": "a"})
    second = store.save_account("mirakl", {"client_id": "b"})
    assert second.connected_at == first.connected_at
    assert store.account("mirakl").details == {"client_id": "b"}


def test_on_mirakl_never_goes_back(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.write_ledger([row("A")])
    store.write_ledger([row("A", state="failed", on_mirakl=False)])
    assert store.ledger_row("A").on_mirakl
    assert store.linked_count() == 1


def test_iter_linked_skips_items_done_in_the_job(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.write_ledger([row(f"P{i:04}") for i in range(2500)] + [row("W", on_mirakl=False)])
    job = store.create_job("disconnect", {"option": "delete"}, total=2500)
    store.mark_job_items(job.id, [f"P{i:04}" for i in range(1200)], done=1200)
    remaining = [r.mirakl_id for r in store.iter_linked(not_done_in_job=job.id)]
    assert remaining == [f"P{i:04}" for i in range(1200, 2500)]
    assert store.job(job.id).done == 1200


def test_pacing_slots_are_shared_between_processes(tmp_path: Path) -> None:
    one, two = Store(tmp_path / "db"), Store(tmp_path / "db")
    assert one.reserve_call("upsert", 10) == 0  # a first call waits for nothing
    wait = two.reserve_call("upsert", 10)
    assert 9.5 < wait <= 10
    assert one.reserve_call("delete", 10) == 0  # operations are paced separately


async def test_pacer_waits_for_the_interval(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    pacer = Pacer(store, 0.2)
    started = time.monotonic()
    for _ in range(3):
        await pacer.slot("list")
    assert time.monotonic() - started >= 0.4


def test_secrets_file_is_0600_and_masked(tmp_path: Path) -> None:
    secrets = SecretsFile(tmp_path / "secrets.json")
    secrets.set(**{"mirakl.client_secret": Secret("s3cr3t-value-123")})
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
    value = secrets.get("mirakl.client_secret")
    assert value.reveal() == "s3cr3t-value-123"
    assert "s3cr3t" not in repr(value)
    secrets.remove("mirakl.client_secret")
    assert secrets.get("mirakl.client_secret") is None


def test_the_linked_counts_read_an_index_not_the_ledger(tmp_path: Path) -> None:
    """`status` and the Overview count the linked products about once a second while a sync
    runs: on a ledger of tens of thousands of rows, a scan of the table each time would stop
    the app's loop for milliseconds. The statements the store really runs are planned here."""
    store = Store(tmp_path / "db")
    store.write_ledger([LedgerRow(f"A{i}", 100 + i, None, [""], "h", "pushed", None, True)
                        for i in range(5)])  # fmt: skip
    store.write_ledger([LedgerRow("V1", 11, 10, [""], "h", "pushed", None, True),
                        LedgerRow("V2", 12, 10, [""], "h", "pushed", None, True),
                        row("GONE", on_mirakl=False)])  # fmt: skip
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    # Five simple products and one variable product (two variations); one never got there.
    assert store.linked_woo_products() == 6
    assert store.linked_count() == 7
    assert store.linked_count("taken_over") == 0
    store._db.set_trace_callback(None)
    assert len(statements) == 3
    for statement in statements:
        steps = store._db.execute("EXPLAIN QUERY PLAN " + statement)
        plan = " ".join(str(step[3]) for step in steps)
        assert "INDEX ledger_linked_" in plan, (statement, plan)


def test_the_ledger_is_paged_along_its_primary_key(tmp_path: Path) -> None:
    """A disconnect reads the linked products 1000 at a time: each page must continue along
    the id, not sort every matching row again (which grows with the square of the ledger)."""
    store = Store(tmp_path / "db")
    store.write_ledger([LedgerRow(f"A{i:04}", i, None, [""], "h", "pushed", None, True)
                        for i in range(2500)])  # fmt: skip
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    walks = {
        "linked": store.iter_linked(),
        "created, not done": store.iter_linked(not_done_in_job=1, origin="created"),
        "taken over": store.iter_linked(origin="taken_over"),
        "all": store.iter_ledger(),
    }
    counts = {name: len(list(rows)) for name, rows in walks.items()}
    store._db.set_trace_callback(None)
    assert counts == {"linked": 2500, "created, not done": 2500, "taken over": 0, "all": 2500}
    for statement in {s for s in statements if "LIMIT 1000" in s}:
        steps = store._db.execute("EXPLAIN QUERY PLAN " + statement)
        plan = " ".join(str(step[3]) for step in steps)
        assert "sqlite_autoindex_ledger_1" in plan and "TEMP B-TREE" not in plan, plan
