"""Tables rewritten on every update stay small, and reads of the latest decisions have an index."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import psycopg

from shared.config import Settings
from shared.store.db import Conn
from shared.store.learner import PART, joined, read_arrays, read_statistics, write_checkpoint, write_solution
from shared.store.lifecycle import save_snapshot
from shared.store.policy import apply_summed
from tests.support.functions import fetch_one

DIMENSIONS = [("TONE", v) for v in ("a", "b", "c")] + [("HOOK_TYPE", v) for v in ("a", "b", "c")]


def test_thousands_of_theta_rewrites_leave_the_table_a_few_pages(runtime):
    rng = np.random.default_rng(0)
    for _ in range(2_000):
        with runtime.db.transaction() as conn:
            apply_summed(conn, {}, {pair: rng.normal(size=768) for pair in DIMENSIONS})
    with runtime.db.transaction() as conn:
        conn.execute("analyze policy_theta")
    pages, storage = fetch_one(
        runtime,
        "select pg_relation_size('policy_theta') / current_setting('block_size')::int,"
        " (select attstorage from pg_attribute where attrelid = 'policy_theta'::regclass and attname = 'theta')",
    )
    # Plain storage (one page per row version, none reusable) grew to 10,002 pages here; the default
    # keeps 1 alone, 32 beside the other tests of a pooled run (their snapshots hold dead rows).
    assert storage == "x"
    assert pages <= 200, pages
    rows = fetch_one(runtime, "select count(*) from policy_theta")[0]
    assert rows == len(DIMENSIONS)


def test_the_learners_rows_are_rewritten_in_their_pages(runtime):
    """The solution at every group and the whole state at every checkpoint, hundreds of times,
    as update_policy writes them: θ (800 floats, 6.4 kB) is kept in parts small enough to stay in
    their rows, so nothing goes out of line (TOAST) to be left dead by the next rewrite, and the
    heap a decision reads grows far less than the same rewrites made by deleting and inserting
    every row at each checkpoint (as before), in the same database and run. (Alone: under 40 pages
    against 400; beside the other tests of a pooled run, whose snapshots keep old versions from
    being pruned, more of both.)"""
    businesses = [f"business/{i}/v" for i in range(40)]

    def rewrite(checkpoint: Callable[[Conn, dict[str, np.ndarray], int], None]) -> tuple[int, int]:
        rng = np.random.default_rng(1)
        with runtime.db.transaction() as conn:
            conn.execute("truncate learner_arrays, learner_statistics")
        for k in range(400):
            solution = {"theta": rng.normal(size=800), "meta": rng.normal(size=5)}
            solution |= {name: rng.normal(size=40) for name in businesses}
            with runtime.db.transaction() as conn:
                if k % 4 == 0:
                    checkpoint(conn, {**solution, "p": rng.normal(size=3000)}, k)
                else:
                    write_solution(conn, solution)
        with runtime.db.transaction() as conn:
            stored = read_arrays(conn)
        assert stored.keys() == {"theta", "meta", *businesses}
        assert np.array_equal(stored["theta"], solution["theta"])
        heap, toast = fetch_one(
            runtime,
            "select pg_relation_size(c.oid) / current_setting('block_size')::int,"
            " pg_relation_size(c.reltoastrelid) / current_setting('block_size')::int"
            " from pg_class c where c.oid = 'learner_arrays'::regclass",
        )
        return int(heap), int(toast)

    def deleted_and_inserted(conn: Conn, state: dict[str, np.ndarray], version: int) -> None:
        conn.execute("delete from learner_statistics")
        conn.execute("delete from learner_arrays")
        write_checkpoint(conn, state, version)

    before, _ = rewrite(deleted_and_inserted)
    now, out_of_line = rewrite(write_checkpoint)
    assert now * 2 <= before, (now, before)
    assert out_of_line == 0  # whole, θ's 6.4 kB went out of line at every rewrite
    toasted = fetch_one(
        runtime,
        "select pg_relation_size(reltoastrelid) from pg_class where oid = 'learner_statistics'::regclass",
    )[0]
    assert toasted == 0


def test_arrays_of_any_length_come_back_whole_and_shrink_without_leftovers(runtime):
    """Parts of ``PART`` floats: an empty array, one that fills a part exactly, one a float over,
    several; then shorter ones (the pending rank-one terms shrink at every refactor) leave none of
    their old tail behind, in the solution, the checkpoint and a snapshot of it."""
    lengths = {"empty": 0, "one": 1, "full": PART, "over": PART + 1, "long": 5 * PART + 3, "theta": 3 * PART + 1}
    rng = np.random.default_rng(2)
    first = {name: rng.normal(size=n) for name, n in lengths.items()}
    second = {name: rng.normal(size=max(0, n - PART)) for name, n in lengths.items() if name != "one"}
    with runtime.db.transaction() as conn:
        write_checkpoint(conn, first, 1)
        _, got = read_statistics(conn)
        assert got.keys() == first.keys() and all(np.array_equal(got[k], first[k]) for k in first)
        write_checkpoint(conn, second, 2)
        version, got = read_statistics(conn)
        assert version == 2
        assert got.keys() == second.keys() and all(np.array_equal(got[k], second[k]) for k in second)
        parts = dict(conn.execute("select name, count(*) from learner_statistics group by name").fetchall())
        assert parts == {name: max(1, -(-a.size // PART)) for name, a in second.items()}
        solution = read_arrays(conn)  # the solution's names only ("theta" here), cut the same way
        assert solution.keys() == {"theta"} and np.array_equal(solution["theta"], second["theta"])
        assert conn.execute("select count(*) from learner_arrays").fetchone() == (3,)
        info, _ = save_snapshot(conn, "parts", "parts", "manual", "space", datetime(2026, 12, 6, tzinfo=UTC))
        kept = joined(
            conn.execute(
                "select name, part, data from policy_snapshot_arrays where snapshot_id = %s", (info.snapshot_id,)
            ).fetchall()
        )
        assert kept.keys() == second.keys() and all(np.array_equal(kept[k], second[k]) for k in second)
        raise psycopg.Rollback()  # leaves the database as it was


def test_the_migration_cuts_whole_arrays_into_the_same_parts(runtime):
    """Migration 20261206140000 on rows stored whole, as before it (in a transaction rolled back):
    the solution, the checkpoint and a snapshot come out in the parts the store writes."""
    rng = np.random.default_rng(3)
    arrays = {"empty": np.zeros(0), "one": rng.normal(size=1), "full": rng.normal(size=PART)}
    arrays |= {"over": rng.normal(size=PART + 1), "theta": rng.normal(size=4 * PART + 7)}
    keys = {"learner_arrays": "name", "learner_statistics": "name", "policy_snapshot_arrays": "snapshot_id, name"}
    with runtime.db.transaction() as conn:
        write_checkpoint(conn, arrays, 1)
        save_snapshot(conn, "whole", "whole", "manual", "space", datetime(2026, 12, 6, tzinfo=UTC))
        want = {
            table: conn.execute(f"select {key}, part, data from {table} order by {key}, part").fetchall()
            for table, key in keys.items()
        }
        assert len(want["learner_statistics"]) > len(arrays)  # the store wrote parts
        for table, key in keys.items():
            whole = conn.execute(
                f"select {key}, array_agg(v order by part, i) filter (where v is not null)"
                f" from {table} left join lateral unnest(data) with ordinality as u(v, i) on true group by {key}"
            ).fetchall()
            conn.execute(f"delete from {table}")
            conn.execute(f"alter table {table} drop constraint {table}_pkey, drop column part")
            conn.execute(f"alter table {table} add primary key ({key})")
            for row in whole:
                *key_values, data = row
                conn.execute(
                    f"insert into {table} ({key}, data) values ({', '.join(['%s'] * len(key_values))}, %s::float8[])",
                    (*key_values, data or []),
                )
        assert conn.execute("select count(*) from learner_statistics").fetchone()[0] == len(arrays)
        conn.execute((Settings().migrations_dir / "20261206140000_learner_arrays_in_parts.sql").read_text())
        for table, key in keys.items():
            got = conn.execute(f"select {key}, part, data from {table} order by {key}, part").fetchall()
            assert got == want[table], table
        raise psycopg.Rollback()  # leaves the database as it was


def test_the_latest_decisions_are_read_in_their_order_through_an_index(runtime):
    """In the total order the evaluation and the normaliser's fit use, so that decisions tied on
    created_at are not all read and sorted before the first is returned."""
    with runtime.db.transaction() as conn:
        conn.execute("set local enable_seqscan = off")
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "explain select x from decisions order by created_at desc, decision_id desc limit 10"
            ).fetchall()
        )
    assert "decisions_created_at_decision" in plan, plan
    assert "Sort" not in plan, plan


def test_tables_updated_in_place_are_vacuumed_by_a_fixed_threshold_not_a_share_of_their_size(runtime):
    """A share of the table (the default fifth) lets dead rows grow with the history: the outbox's
    lease walked them all (the demo's day time grew 1.2–1.3× over 12 weeks; flat once fixed), and the
    per-day tables' scans grew with their updates. These keep their setting (docs/decisions.md 66–67)."""
    with runtime.db.statement() as conn:
        rows = conn.execute(
            "select relname, reloptions from pg_class where relkind = 'r' and relname = any(%s)", (list(IN_PLACE),)
        ).fetchall()
    options = {name: dict(o.split("=", 1) for o in (opts or [])) for name, opts in rows}
    assert set(options) == set(IN_PLACE)
    for table, fill in IN_PLACE.items():
        got = options[table]
        assert got.get("autovacuum_vacuum_scale_factor") == "0", (table, got)
        assert 0 < int(got["autovacuum_vacuum_threshold"]) <= 5000, (table, got)
        assert got.get("fillfactor") == fill, (table, got)


# Tables whose rows are updated in place on the write path: their vacuum setting and fillfactor.
IN_PLACE = {
    "outbox": None,
    "activity_days": "50",
    "business_activity_days": "50",
    "activity_weeks": "50",
    "business_activity_weeks": "50",
    "engagement_days": "50",
    "platform_engagement_days": "50",
    "follower_days": "50",
    "learner_arrays": "50",
    "learner_statistics": "50",
}
