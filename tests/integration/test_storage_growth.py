"""Tables rewritten on every update stay small, and reads of the latest decisions have an index."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from shared.store.db import Conn
from shared.store.learner import write_checkpoint, write_solution
from shared.store.policy import apply_summed
from tests.support.functions import fetch_all, fetch_one

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
    as update_policy writes them, against the same rewrites made by deleting and inserting every
    row at each checkpoint (as before), in the same database and run: the heap a decision reads
    grows far less. (Alone: under 40 pages against 400; beside the other tests of a pooled run,
    whose snapshots keep old versions from being pruned, more of both.)"""
    businesses = [f"business/{i}/v" for i in range(40)]

    def rewrite(checkpoint: Callable[[Conn, dict[str, np.ndarray], int], None]) -> int:
        rng = np.random.default_rng(1)
        with runtime.db.transaction() as conn:
            conn.execute("truncate learner_arrays, learner_statistics")
        for k in range(400):
            solution = {"theta": rng.normal(size=800), "meta": rng.normal(size=5)}
            solution |= {name: rng.normal(size=40) for name in businesses}
            with runtime.db.transaction() as conn:
                if k % 4 == 0:
                    checkpoint(conn, {**solution, "p": rng.normal(size=300)}, k)
                else:
                    write_solution(conn, solution)
        names = {r[0] for r in fetch_all(runtime, "select name from learner_arrays")}
        assert names == {"theta", "meta", *businesses}
        return int(
            fetch_one(runtime, "select pg_relation_size('learner_arrays') / current_setting('block_size')::int")[0]
        )

    def deleted_and_inserted(conn: Conn, state: dict[str, np.ndarray], version: int) -> None:
        conn.execute("delete from learner_statistics")
        conn.execute("delete from learner_arrays")
        write_checkpoint(conn, state, version)

    before = rewrite(deleted_and_inserted)
    now = rewrite(write_checkpoint)
    assert now * 2 <= before, (now, before)


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
