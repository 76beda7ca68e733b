"""The per-day activity tables the dashboard reads (migration 20261206040000) against a
recount from the raw rows, done here in Python: after a campaign with holdback posts,
drafts published later, redeliveries and a deletion; and the migration's backfill of
rows that existed before it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from shared.config import Settings
from shared.presentation.view import build_view
from shared.services.dashboard import refresh_typical_contexts
from shared.services.holdback import holdback_report
from shared.store import dashboard as dashboard_store
from shared.store.dashboard import load_dashboard, typical_contexts
from simulation.campaign import CampaignConfig, run_campaign
from tests.support.database import START
from tests.support.functions import fetch_all, generate, metrics, publish

COUNTERS = ("decisions", "choices", "explored", "published", "rewarded", "valued", "reward_sum", "reward_sumsq")


def recount(rt) -> dict[tuple[Any, ...], dict[str, Any]]:
    """(business, platform, bucket, day, holdback) → counters, from decisions, posts and rewards."""
    rows = fetch_all(
        rt,
        "select p.business_id, d.platform, d.time_bucket, (p.scheduled_for at time zone 'UTC')::date, d.holdback,"
        " p.status, d.choices, r.status, r.value, r.baseline_after, r.computed_at"
        " from decisions d join posts p using (post_id) left join rewards r using (post_id)",
    )
    out: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0) | {"baseline": None})
    for business, platform, bucket, day, holdback, status, choices, r_status, value, b_after, computed_at in rows:
        row = out[(business, platform, bucket, day, holdback)]
        row["decisions"] += 1
        if not holdback:
            row["choices"] += len(choices)
            row["explored"] += sum(c["propensity"] < max(c["pi"]) - 1e-12 for c in choices)
        row["published"] += status != "generated"
        row["rewarded"] += r_status == "computed"
        if value is not None:
            row["valued"] += 1
            row["reward_sum"] += value
            row["reward_sumsq"] += value * value
        if b_after is not None and (row["baseline"] is None or computed_at >= row["baseline"][0]):
            row["baseline"] = (computed_at, b_after)
    return dict(out)


def kept(rt, table: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    period = "week" if table.endswith("_weeks") else "day"
    key = f"platform, time_bucket, {period}, holdback"
    key = f"business_id, {key}" if table.startswith("business_") else key
    n_key = len(key.split(", "))
    rows = fetch_all(rt, f"select {key}, {', '.join(COUNTERS)}, baseline_at, baseline_after from {table}")
    return {
        tuple(r[:n_key]): dict(zip(COUNTERS, r[n_key : n_key + len(COUNTERS)], strict=True))
        | {"baseline": None if r[-2] is None else (r[-2], r[-1])}
        for r in rows
    }


def assert_same(
    kept_rows: dict[tuple[Any, ...], dict[str, Any]], counted: dict[tuple[Any, ...], dict[str, Any]]
) -> None:
    assert kept_rows.keys() == counted.keys()
    for key, want in counted.items():
        got = kept_rows[key]
        for name in COUNTERS:
            assert got[name] == pytest.approx(want[name], abs=1e-9), (key, name)
        assert got["baseline"] == want["baseline"], key


def operator_view(per_business: dict[tuple[Any, ...], dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return summed(per_business, lambda key: key[1:])


def weekly(per_day: dict[tuple[Any, ...], dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The rows per week (dated by its Monday) from the rows per day (the day second from last)."""
    return summed(per_day, lambda key: (*key[:-2], key[-2] - timedelta(days=key[-2].weekday()), key[-1]))


def summed(rows: dict[tuple[Any, ...], dict[str, Any]], new_key: Any) -> dict[tuple[Any, ...], dict[str, Any]]:
    out: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0) | {"baseline": None})
    for key, row in rows.items():
        total = out[new_key(key)]
        for name in COUNTERS:
            total[name] += row[name]
        if row["baseline"] is not None and (total["baseline"] is None or row["baseline"][0] >= total["baseline"][0]):
            total["baseline"] = row["baseline"]
    return dict(out)


@pytest.mark.slow
def test_the_activity_tables_equal_a_recount_and_the_backfill_too(runtime, functions, make_profile, monkeypatch):
    monkeypatch.setattr(runtime, "params", replace(runtime.params, holdback_share=0.3))
    run_campaign(CampaignConfig(seed=3, businesses=2, days=5, start=START), runtime, functions)
    # A draft published later, a redelivered request, a redelivered snapshot, a deletion.
    business = make_profile()
    draft = generate(functions, business, "draft", "linkedin", auto_publish=False)["post_id"]
    generate(functions, business, "draft", "linkedin", auto_publish=False, expect=(200,))
    clock = runtime.clock
    posted_at = clock.now()
    publish(functions, draft, posted_at)
    clock.advance(timedelta(hours=3))
    for _ in range(2):
        metrics(functions, draft, posted_at + timedelta(hours=1), likes=3, comments=1, follower_count=1000)
    deleted_at = (posted_at + timedelta(hours=2)).isoformat()
    for _ in range(2):
        status, answer = functions.post(
            "record_snapshot", {"type": "deleted", "post_id": draft, "deleted_at": deleted_at}
        )
        assert status == 200, answer

    counted = recount(runtime)
    assert sum(r["published"] for r in counted.values()) > 0 and sum(r["valued"] for r in counted.values()) > 0
    assert any(key[-1] for key in counted) and any(r["explored"] for r in counted.values())
    assert_same(kept(runtime, "business_activity_days"), counted)
    assert_same(kept(runtime, "activity_days"), operator_view(counted))
    assert len({key[3] for key in counted}) > len({key[3] for key in weekly(counted)}) >= 1  # days fold into weeks
    assert_same(kept(runtime, "business_activity_weeks"), weekly(counted))
    assert_same(kept(runtime, "activity_weeks"), weekly(operator_view(counted)))

    # The holdback's lift reads the same rows: every post, or those scheduled from a day on.
    days = sorted({key[3] for key in counted})
    middle = days[len(days) // 2]
    for since in (None, middle):
        want = {
            arm: sum(r["valued"] for k, r in counted.items() if k[-1] == arm and (since is None or k[3] >= since))
            for arm in (False, True)
        }
        overall = holdback_report(runtime.db, since)[0]
        assert overall.platform == "all"
        assert (overall.policy.n, overall.holdback.n) == (want[False], want[True])
    assert want[False] < sum(r["valued"] for k, r in counted.items() if not k[-1])  # the day did filter

    # The migrations, run again on emptied tables, count what was there before them: the days
    # from the rows, then the weeks from the days (the second also puts back the fold that
    # keeps the weeks, which the first replaced).
    with runtime.db.transaction() as conn:
        conn.execute("truncate activity_days, business_activity_days, activity_weeks, business_activity_weeks")
        for name in ("20261206040000_dashboard_at_constant_cost.sql", "20261206110000_reads_that_stay_flat.sql"):
            conn.execute((Settings().migrations_dir / name).read_text())
    assert_same(kept(runtime, "business_activity_days"), counted)
    assert_same(kept(runtime, "activity_days"), operator_view(counted))
    assert_same(kept(runtime, "business_activity_weeks"), weekly(counted))
    assert_same(kept(runtime, "activity_weeks"), weekly(operator_view(counted)))


@pytest.mark.slow
def test_the_store_sums_long_spans_per_week_as_the_view_would(runtime, functions, monkeypatch):
    run_campaign(CampaignConfig(seed=4, businesses=2, days=9, start=START), runtime, functions)
    with runtime.db.transaction() as conn:
        daily = load_dashboard(conn)
    monkeypatch.setattr(dashboard_store, "WEEKLY_AFTER_DAYS", 3)  # nine days become a long span
    with runtime.db.transaction() as conn:
        weekly = load_dashboard(conn)
    assert daily.weekly is False and weekly.weekly is True
    assert len(weekly.rewards) < len(daily.rewards) and len(weekly.exploration) < len(daily.exploration)
    by_view = build_view(replace(daily, weekly=True), runtime.space, runtime.params)  # the view sums the days
    by_store = build_view(weekly, runtime.space, runtime.params)
    assert by_view.period == by_store.period == "week"
    for mine, theirs in zip(by_view.cells, by_store.cells, strict=True):
        for series in ("reward", "exploration", "baseline"):
            ours, stored = getattr(mine, series), getattr(theirs, series)
            assert [(p.period, p.n) for p in ours] == [(p.period, p.n) for p in stored], series
            assert [p.value for p in ours] == pytest.approx([p.value for p in stored], abs=1e-12), series


@pytest.mark.slow
def test_the_sweep_stores_each_cells_typical_context(runtime, functions):
    run_campaign(CampaignConfig(seed=5, businesses=2, days=4, start=START), runtime, functions)
    assert fetch_all(runtime, "select count(*) from typical_contexts")[0][0] > 0  # the campaign's sweeps stored some
    now = runtime.clock.now()
    assert refresh_typical_contexts(runtime.db, now) is True
    with runtime.db.transaction() as conn:
        stored = typical_contexts(conn)
    cells = fetch_all(runtime, "select distinct platform, time_bucket from decisions")
    assert set(stored) == {(p, b) for p, b in cells}
    for platform, bucket in cells:
        xs = [
            np.asarray(x)
            for (x,) in fetch_all(
                runtime,
                "select x from decisions where platform = %s and time_bucket = %s order by created_at desc limit 50",
                platform,
                bucket,
            )
        ]
        np.testing.assert_allclose(stored[(platform, bucket)], np.mean(xs, axis=0), rtol=1e-12, atol=1e-15)
    # Younger than the interval: left as they are; older: computed again.
    assert refresh_typical_contexts(runtime.db, now + timedelta(hours=1), every=timedelta(hours=6)) is False
    assert refresh_typical_contexts(runtime.db, now + timedelta(hours=7), every=timedelta(hours=6)) is True
