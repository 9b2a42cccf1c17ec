"""The connector's state: one SQLite file, WAL, short transactions, migrations by user_version."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from connector.redact import scrub

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE accounts (
        kind TEXT PRIMARY KEY CHECK (kind IN ('mirakl', 'woocommerce')),
        details TEXT NOT NULL,
        connected_at TEXT NOT NULL
    );
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE ledger (
        mirakl_id TEXT PRIMARY KEY,
        woo_id INTEGER NOT NULL,
        woo_parent_id INTEGER,
        warehouses TEXT NOT NULL DEFAULT '[]',
        payload_hash TEXT,
        state TEXT NOT NULL,
        on_mirakl INTEGER NOT NULL DEFAULT 0,
        seen_pass INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX ledger_state ON ledger (state);
    CREATE TABLE skipped (
        woo_id INTEGER PRIMARY KEY,
        woo_parent_id INTEGER,
        name TEXT NOT NULL,
        reason TEXT NOT NULL,
        seen_pass INTEGER NOT NULL
    );
    CREATE INDEX ledger_woo ON ledger (woo_id);
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',
        state TEXT NOT NULL,
        step TEXT,
        done INTEGER NOT NULL DEFAULT 0,
        total INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE job_items (
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        mirakl_id TEXT NOT NULL,
        PRIMARY KEY (job_id, mirakl_id)
    ) WITHOUT ROWID;
    CREATE TABLE activity (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        level TEXT NOT NULL,
        message TEXT NOT NULL
    );
    CREATE TABLE pacing (
        operation TEXT PRIMARY KEY,
        last_call REAL NOT NULL
    );
    """,
    # 2: intent first, ownership. `possibly`: sent in a request whose answer never came (or
    # not yet), so it may be on Mirakl Connect. `origin`: 'created' by the connector, or
    # 'taken_over' (it was the seller's before; the merchant opted in). `foreign`: ids the
    # inventory found on Mirakl Connect that the connector did not put there. A job item is
    # 'sent' before its request leaves and 'done' once accepted.
    """
    ALTER TABLE ledger ADD COLUMN possibly INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE ledger ADD COLUMN origin TEXT NOT NULL DEFAULT 'created';
    CREATE TABLE foreign_products (
        mirakl_id TEXT PRIMARY KEY
    ) WITHOUT ROWID;
    ALTER TABLE job_items ADD COLUMN state TEXT NOT NULL DEFAULT 'done';
    """,
    # The linked rows (`LINKED`, word for word: SQLite uses a partial index only for that
    # WHERE), by product and by origin: the counts `status` and the Overview show (asked once
    # a second while a sync runs) read an index instead of the whole ledger.
    """
    CREATE INDEX ledger_linked_product ON ledger (COALESCE(woo_parent_id, woo_id))
        WHERE (on_mirakl = 1 OR possibly = 1);
    CREATE INDEX ledger_linked_origin ON ledger (origin)
        WHERE (on_mirakl = 1 OR possibly = 1);
    """,
)

#: A ledger row the connector may have on Mirakl Connect: what a disconnect acts on.
LINKED = "(on_mirakl = 1 OR possibly = 1)"

ACTIVE_JOB_STATES = ("running", "interrupted", "failed")

#: The skip reason of a WooCommerce product whose id the seller already has on Mirakl
#: Connect: the sync leaves it alone, `status` counts it as already there.
NOT_OURS = "already on Mirakl Connect, not created by the connector"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# Records are NamedTuples: immutable like a frozen dataclass, a sixth of its cost to define
# (the store is on the way to the app's first frame), a fifth to build (each ledger row).


class Account(NamedTuple):
    kind: str
    details: dict[str, Any]
    connected_at: str


class LedgerRow(NamedTuple):
    mirakl_id: str
    woo_id: int
    woo_parent_id: int | None
    warehouses: list[str]
    payload_hash: str | None
    state: str
    last_error: str | None = None
    on_mirakl: bool = False
    seen_pass: int = 0
    possibly: bool = False
    origin: str = "created"

    @property
    def linked(self) -> bool:
        """On Mirakl Connect, or perhaps (sent, answer never seen): a disconnect acts on it."""
        return self.on_mirakl or self.possibly


class Job(NamedTuple):
    id: int
    kind: str
    params: dict[str, Any]
    state: str
    step: str | None
    done: int
    total: int
    error: str | None
    created_at: str
    updated_at: str


class Store:
    """Opens (and migrates) the database. Every method is one short transaction."""

    def __init__(self, path: Path | None) -> None:
        """`path=None` opens a scratch database in memory (used before anything may be written)."""
        self.path = path
        if path is None:
            self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        else:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fresh = not path.exists()
            self._db = sqlite3.connect(
                path, timeout=30, isolation_level=None, check_same_thread=False
            )
            if fresh:
                os.chmod(path, 0o600)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def data_version(self) -> int:
        """A number that changes when another connection (another process) commits; our own
        commits leave it as it is. One cheap pragma, for polling."""
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def stamp(self) -> tuple[int, int]:
        """Changes whenever anything was committed to the database, by any connection: other
        connections' commits (`data_version`) and this one's (`total_changes`)."""
        return self.data_version(), self._db.total_changes

    @property
    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        with self.transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in filter(str.strip, script.split(";")):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: writers queue up instead of failing, across processes too."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")

    # accounts ---------------------------------------------------------------------------

    def save_account(self, kind: str, details: dict[str, Any]) -> Account:
        with self.transaction() as db:
            row = db.execute("SELECT connected_at FROM accounts WHERE kind = ?", (kind,)).fetchone()
            connected_at = row["connected_at"] if row else now_iso()
            db.execute(
                "INSERT OR REPLACE INTO accounts (kind, details, connected_at) VALUES (?, ?, ?)",
                (kind, json.dumps(details, sort_keys=True), connected_at),
            )
        return Account(kind, details, connected_at)

    def account(self, kind: str) -> Account | None:
        row = self._db.execute("SELECT * FROM accounts WHERE kind = ?", (kind,)).fetchone()
        if row is None:
            return None
        return Account(row["kind"], json.loads(row["details"]), row["connected_at"])

    def remove_account(self, kind: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM accounts WHERE kind = ?", (kind,))

    # settings ---------------------------------------------------------------------------

    def get_setting(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row["value"])

    def set_setting(self, key: str, value: Any) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                (key, json.dumps(value)),
            )

    # activity ---------------------------------------------------------------------------

    def log_activity(self, message: str, level: str = "info") -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO activity (at, level, message) VALUES (?, ?, ?)",
                (now_iso(), level, scrub(message)),
            )

    def recent_activity(self, limit: int = 20) -> list[tuple[str, str, str]]:
        rows = self._db.execute(
            "SELECT at, level, message FROM activity ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [(r["at"], r["level"], r["message"]) for r in rows]

    # ledger -----------------------------------------------------------------------------

    def write_ledger(self, rows: Iterable[LedgerRow], *, seen_pass: int = 0) -> None:
        """Insert or update rows. `on_mirakl` never goes back to 0 once a push was accepted;
        `possibly` (intent) is cleared only by an accepted push or by `clear_intent`, and a
        row taken over stays taken over."""
        stamp = now_iso()
        with self.transaction() as db:
            db.executemany(
                """INSERT INTO ledger
                   (mirakl_id, woo_id, woo_parent_id, warehouses, payload_hash, state,
                    on_mirakl, seen_pass, last_error, updated_at, possibly, origin)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (mirakl_id) DO UPDATE SET
                     woo_id = excluded.woo_id, woo_parent_id = excluded.woo_parent_id,
                     warehouses = excluded.warehouses, payload_hash = excluded.payload_hash,
                     state = excluded.state, on_mirakl = MAX(on_mirakl, excluded.on_mirakl),
                     seen_pass = MAX(seen_pass, excluded.seen_pass),
                     last_error = excluded.last_error, updated_at = excluded.updated_at,
                     possibly = CASE WHEN excluded.on_mirakl = 1 THEN 0
                                     ELSE MAX(possibly, excluded.possibly) END,
                     origin = CASE WHEN origin = 'taken_over' THEN origin
                                   ELSE excluded.origin END""",
                [
                    (
                        r.mirakl_id,
                        r.woo_id,
                        r.woo_parent_id,
                        json.dumps(r.warehouses),
                        r.payload_hash,
                        r.state,
                        int(r.on_mirakl),
                        seen_pass,
                        r.last_error,
                        stamp,
                        int(r.possibly),
                        r.origin,
                    )
                    for r in rows
                ],
            )

    def ledger_row(self, mirakl_id: str) -> LedgerRow | None:
        row = self._db.execute("SELECT * FROM ledger WHERE mirakl_id = ?", (mirakl_id,)).fetchone()
        return None if row is None else _ledger_row(row)

    def ledger_rows(self, mirakl_ids: Iterable[str]) -> dict[str, LedgerRow]:
        ids = list(mirakl_ids)
        found: dict[str, LedgerRow] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            sql = f"SELECT * FROM ledger WHERE mirakl_id IN ({','.join('?' * len(chunk))})"
            for row in self._db.execute(sql, chunk):
                found[row["mirakl_id"]] = _ledger_row(row)
        return found

    def mark_intent(self, mirakl_ids: Iterable[str]) -> None:
        """Intent first: committed before a request that may create or change these products
        leaves, so a crash at any instant after leaves them known as possibly on Mirakl."""
        with self.transaction() as db:
            db.executemany(
                "UPDATE ledger SET possibly = 1 WHERE mirakl_id = ? AND on_mirakl = 0",
                [(m,) for m in mirakl_ids],
            )

    def clear_intent(self, mirakl_ids: Iterable[str]) -> None:
        """Mirakl Connect definitively refused these products: they are not there."""
        with self.transaction() as db:
            db.executemany(
                "UPDATE ledger SET possibly = 0 WHERE mirakl_id = ?", [(m,) for m in mirakl_ids]
            )

    def mark_seen(self, mirakl_ids: Iterable[str], seen_pass: int) -> None:
        with self.transaction() as db:
            db.executemany(
                "UPDATE ledger SET seen_pass = ? WHERE mirakl_id = ?",
                [(seen_pass, m) for m in mirakl_ids],
            )

    def _paged(self, where: str, args: list[Any]) -> Iterator[LedgerRow]:
        """Rows in id order, read 1000 at a time so a large ledger never sits in memory.

        Each page walks the primary key: with another index (`ledger_linked_origin`) SQLite
        would sort every matching row again for each page of 1000."""
        last = ""
        while True:
            page = self._db.execute(
                "SELECT * FROM ledger INDEXED BY sqlite_autoindex_ledger_1 "
                f"WHERE mirakl_id > ? AND ({where}) "
                "ORDER BY mirakl_id LIMIT 1000",
                [last, *args],
            ).fetchall()
            if not page:
                return
            for row in page:
                yield _ledger_row(row)
            last = page[-1]["mirakl_id"]

    def iter_ledger(self) -> Iterator[LedgerRow]:
        return self._paged("1", [])

    def iter_unseen(self, seen_pass: int) -> Iterator[LedgerRow]:
        """Products on Mirakl Connect, not set to 0 yet, that this sync pass did not meet in the
        store (a row left waiting or failed by an earlier pass counts too)."""
        return self._paged(f"{LINKED} AND state != 'zeroed' AND seen_pass < ?", [seen_pass])

    def iter_linked(
        self, *, not_done_in_job: int | None = None, origin: str | None = None
    ) -> Iterator[LedgerRow]:
        """Every product the connector put (or may have put) on Mirakl Connect: what a
        disconnect acts on; `origin` narrows to created or taken-over ones."""
        where, args = LINKED, []
        if origin is not None:
            where += " AND origin = ?"
            args.append(origin)
        if not_done_in_job is not None:
            where += (
                " AND NOT EXISTS (SELECT 1 FROM job_items j WHERE j.job_id = ? "
                "AND j.mirakl_id = ledger.mirakl_id AND j.state = 'done')"
            )
            args.append(not_done_in_job)
        return self._paged(where, args)

    def ledger_counts(self) -> dict[str, int]:
        rows = self._db.execute("SELECT state, COUNT(*) FROM ledger GROUP BY state").fetchall()
        counts = {str(state): int(count) for state, count in rows}
        skipped = self._db.execute("SELECT COUNT(*) FROM skipped").fetchone()[0]
        if skipped:
            counts["skipped"] = int(skipped)
        return counts

    def linked_count(self, origin: str | None = None) -> int:
        """Products the connector has (or may have) on Mirakl Connect: the ones a disconnect
        would touch; `origin` counts only created or only taken-over ones."""
        sql, args = f"SELECT COUNT(*) FROM ledger WHERE {LINKED}", []
        if origin is not None:
            sql += " AND origin = ?"
            args.append(origin)
        return int(self._db.execute(sql, args).fetchone()[0])

    def linked_woo_products(self) -> int:
        """The WooCommerce products behind the linked ones (a variable product counts once,
        however many of its variations are on Mirakl Connect)."""
        sql = f"SELECT COUNT(DISTINCT COALESCE(woo_parent_id, woo_id)) FROM ledger WHERE {LINKED}"
        return int(self._db.execute(sql).fetchone()[0])

    # ownership --------------------------------------------------------------------------

    def add_foreign(self, mirakl_ids: Iterable[str]) -> None:
        """Ids the inventory found on Mirakl Connect; the connector's own rows are not foreign."""
        with self.transaction() as db:
            db.executemany(
                f"""INSERT OR IGNORE INTO foreign_products (mirakl_id)
                    SELECT ? WHERE NOT EXISTS
                    (SELECT 1 FROM ledger WHERE mirakl_id = ? AND {LINKED})""",
                [(m, m) for m in mirakl_ids],
            )

    def forget_foreign(self) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM foreign_products")

    def foreign_among(self, mirakl_ids: Iterable[str]) -> set[str]:
        ids = list(mirakl_ids)
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            sql = (
                "SELECT mirakl_id FROM foreign_products "
                f"WHERE mirakl_id IN ({','.join('?' * len(chunk))})"
            )
            found.update(row[0] for row in self._db.execute(sql, chunk))
        return found

    def foreign_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM foreign_products").fetchone()[0])

    # skipped products -------------------------------------------------------------------

    def record_skipped(
        self, rows: Iterable[tuple[int, int | None, str, str]], seen_pass: int
    ) -> None:
        with self.transaction() as db:
            db.executemany(
                """INSERT OR REPLACE INTO skipped (woo_id, woo_parent_id, name, reason, seen_pass)
                   VALUES (?, ?, ?, ?, ?)""",
                [(*row, seen_pass) for row in rows],
            )

    def forget_skipped_before(self, seen_pass: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM skipped WHERE seen_pass < ?", (seen_pass,))

    def skipped_reasons(self) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT reason, COUNT(*) FROM skipped GROUP BY reason ORDER BY COUNT(*) DESC"
        ).fetchall()
        return {str(reason): int(count) for reason, count in rows}

    def skipped_items(self, limit: int = 50) -> list[tuple[int, str, str]]:
        rows = self._db.execute(
            "SELECT woo_id, name, reason FROM skipped ORDER BY woo_id LIMIT ?", (limit,)
        ).fetchall()
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    # jobs -------------------------------------------------------------------------------

    def create_job(self, kind: str, params: dict[str, Any], total: int) -> Job:
        stamp = now_iso()
        with self.transaction() as db:
            cursor = db.execute(
                """INSERT INTO jobs (kind, params, state, total, created_at, updated_at)
                   VALUES (?, ?, 'running', ?, ?, ?)""",
                (kind, json.dumps(params, sort_keys=True), total, stamp, stamp),
            )
            job_id = cursor.lastrowid
        job = self.job(int(job_id or 0))
        assert job is not None
        return job

    def job(self, job_id: int) -> Job | None:
        row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def newest_job(self, kind: str | None = None) -> Job | None:
        """The newest journal row (of `kind`), whatever its state."""
        sql, args = "SELECT * FROM jobs", []
        if kind:
            sql, args = sql + " WHERE kind = ?", [kind]
        row = self._db.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchone()
        return None if row is None else _job(row)

    def open_job(self, kind: str | None = None) -> Job | None:
        """The newest job that has not finished: running, interrupted or failed part-way."""
        sql = f"SELECT * FROM jobs WHERE state IN ({','.join('?' * len(ACTIVE_JOB_STATES))})"
        args: list[Any] = list(ACTIVE_JOB_STATES)
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        # An unfinished disconnect outranks any sync: it is what must be finished first.
        order = " ORDER BY kind = 'disconnect' DESC, id DESC LIMIT 1"
        row = self._db.execute(sql + order, args).fetchone()
        return None if row is None else _job(row)

    def close_open_jobs(self, kind: str, state: str) -> None:
        """Mark every unfinished job of `kind` as ended (`state`), e.g. older sync passes
        that a new pass supersedes."""
        marks = ",".join("?" * len(ACTIVE_JOB_STATES))
        with self.transaction() as db:
            db.execute(
                f"UPDATE jobs SET state = ?, updated_at = ? WHERE kind = ? AND state IN ({marks})",
                (state, now_iso(), kind, *ACTIVE_JOB_STATES),
            )

    def interrupt_running_jobs(self) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE jobs SET state = 'interrupted', updated_at = ? WHERE state = 'running'",
                (now_iso(),),
            )

    def update_job(self, job_id: int, **fields: Any) -> None:
        allowed = {"state", "step", "done", "total", "error", "params"}
        if not fields.keys() <= allowed:
            raise ValueError(f"unknown job fields: {sorted(fields.keys() - allowed)}")
        if "params" in fields:
            fields["params"] = json.dumps(fields["params"], sort_keys=True)
        if fields.get("error"):
            fields["error"] = scrub(str(fields["error"]))  # a remote text may echo a secret
        fields["updated_at"] = now_iso()
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self.transaction() as db:
            db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", [*fields.values(), job_id])

    def mark_job_sent(self, job_id: int, mirakl_ids: Iterable[str]) -> None:
        """Intent first, for a job: committed before the batch's request leaves."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO job_items (job_id, mirakl_id, state) VALUES (?, ?, 'sent')",
                [(job_id, m) for m in mirakl_ids],
            )

    def mark_job_items(self, job_id: int, mirakl_ids: Iterable[str], *, done: int) -> None:
        """Record one accepted batch and the new progress count in a single commit."""
        with self.transaction() as db:
            db.executemany(
                """INSERT INTO job_items (job_id, mirakl_id, state) VALUES (?, ?, 'done')
                   ON CONFLICT (job_id, mirakl_id) DO UPDATE SET state = 'done'""",
                [(job_id, m) for m in mirakl_ids],
            )
            db.execute(
                "UPDATE jobs SET done = ?, updated_at = ? WHERE id = ?", (done, now_iso(), job_id)
            )

    def requeue_job_items(self, job_id: int, *, deleted_origin: str | None) -> tuple[int, int]:
        """A disconnect called off part-way: every product it set to 0 or deleted (or may
        have: sent, never answered) is pushed again by the next sync (state `waiting`, no
        hash). Products of `deleted_origin` it deleted are no longer on Mirakl Connect;
        those whose delete was sent but not answered possibly are. Returns how many go back:
        (changed for sure, maybe changed)."""
        items = "SELECT mirakl_id FROM job_items WHERE job_id = ? AND state = ?"
        counts: list[int] = []
        with self.transaction() as db:
            for state, possibly in (("done", 0), ("sent", 1)):
                if deleted_origin is not None:
                    db.execute(
                        f"""UPDATE ledger SET on_mirakl = 0, possibly = ?
                            WHERE origin = ? AND on_mirakl = 1 AND mirakl_id IN ({items})""",
                        (possibly, deleted_origin, job_id, state),
                    )
                cursor = db.execute(
                    f"""UPDATE ledger SET state = 'waiting', payload_hash = NULL, updated_at = ?
                        WHERE state != 'zeroed' AND mirakl_id IN ({items})""",
                    (now_iso(), job_id, state),
                )
                counts.append(cursor.rowcount)
        return counts[0], counts[1]

    def job_item_count(self, job_id: int, state: str = "done") -> int:
        row = self._db.execute(
            "SELECT COUNT(*) FROM job_items WHERE job_id = ? AND state = ?", (job_id, state)
        )
        return int(row.fetchone()[0])

    # pacing -----------------------------------------------------------------------------

    def reserve_call(self, operation: str, interval: float, guard: float = 0.0) -> float:
        """Claim the next slot of a paced operation. Returns seconds to wait (0 = go now).

        The claim is written in the same transaction that read the last call, so two
        processes sharing this database never take the same slot.
        """
        with self.transaction() as db:
            row = db.execute("SELECT last_call FROM pacing WHERE operation = ?", (operation,))
            found = row.fetchone()
            now = time.time()
            slot = now if found is None else max(now, float(found[0]) + interval + guard)
            db.execute(
                "INSERT OR REPLACE INTO pacing (operation, last_call) VALUES (?, ?)",
                (operation, slot),
            )
        return max(0.0, slot - now)

    def pacing_rows(self) -> list[tuple[str, float]]:
        return [(r[0], float(r[1])) for r in self._db.execute("SELECT * FROM pacing")]

    def merge_pacing(self, rows: Iterable[tuple[str, float]]) -> None:
        """Keep the later of two recorded calls per operation."""
        with self.transaction() as db:
            db.executemany(
                """INSERT INTO pacing (operation, last_call) VALUES (?, ?)
                   ON CONFLICT (operation)
                   DO UPDATE SET last_call = MAX(last_call, excluded.last_call)""",
                list(rows),
            )

    def last_call(self, operation: str) -> float | None:
        row = self._db.execute("SELECT last_call FROM pacing WHERE operation = ?", (operation,))
        found = row.fetchone()
        return None if found is None else float(found[0])


def _ledger_row(row: sqlite3.Row) -> LedgerRow:
    return LedgerRow(
        mirakl_id=row["mirakl_id"],
        woo_id=row["woo_id"],
        woo_parent_id=row["woo_parent_id"],
        warehouses=json.loads(row["warehouses"]),
        payload_hash=row["payload_hash"],
        state=row["state"],
        last_error=row["last_error"],
        on_mirakl=bool(row["on_mirakl"]),
        seen_pass=int(row["seen_pass"]),
        possibly=bool(row["possibly"]),
        origin=row["origin"],
    )


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        kind=row["kind"],
        params=json.loads(row["params"]),
        state=row["state"],
        step=row["step"],
        done=row["done"],
        total=row["total"],
        error=row["error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
