"""What the dashboard reads (SQL only; shaping and charts are in shared/presentation/).

Counts, rewards and exploration come from the per-day activity tables the writes keep up
to date (migration 20261206040000_activity_days.sql), so the page reads a few rows per day
and cell however many decisions are stored.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np

from shared.core.bandit import RidgeIGW
from shared.core.context import PLATFORMS, TIME_BUCKETS, FloatArray
from shared.core.what_works import ValueStat
from shared.presentation.data import WEEKLY_AFTER_DAYS, DashboardData, ExplorationDay, LatestPost, RewardDay
from shared.store import normalisers, policy
from shared.store.db import Conn
from shared.store.learner import read_arrays

# The policy's "typical context" of a cell is the mean x of its latest decisions.
RECENT_DECISIONS = 50

_CELLS = [(p, b) for p in PLATFORMS for b in TIME_BUCKETS]


def load_dashboard(conn: Conn, *, latest: int = 30, owner: UUID | None = None) -> DashboardData:
    """Everything the dashboard shows, read in the caller's transaction (one snapshot). With
    ``owner`` (a Supabase user id), the posts, decisions, activity and profiles are read as
    that user, under the row-level security every signed-in user has: their own businesses
    only. The policy shown is the shared one either way, at the typical contexts of every
    business's decisions (stored by the sweep, ``store_typical_contexts``)."""
    mean_x = typical_contexts(conn)
    version_row = conn.execute("select version, steps from policy_state").fetchone()
    active = normalisers.active_version(conn)
    prefs, theta = policy.read_preferences_and_theta(conn)
    arrays = read_arrays(conn, RidgeIGW.solution_names(None))
    normaliser = None if active is None else normalisers.fetch(conn, {active})[active]
    if owner is not None:
        # Until the transaction ends; a pooled connection keeps nothing of it.
        conn.execute("set local role authenticated")
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps({"sub": str(owner)}),))
    activity = "activity_days" if owner is None else "business_activity_days"
    counts = {
        (p, b): int(n)
        for p, b, n in conn.execute(f"select platform, time_bucket, sum(decisions) from {activity} group by 1, 2")
    }
    first, last = conn.execute(f"select min(day), max(day) from {activity}").fetchone() or (None, None)
    weekly = first is not None and (last - first).days > WEEKLY_AFTER_DAYS
    # Long spans are drawn per week: summed here, a row per week instead of seven.
    period = "date_trunc('week', day)::date" if weekly else "day"
    rewards = tuple(
        RewardDay(p, tb, day, int(n), float(total) / int(n), float(b))
        for p, tb, day, n, total, b in conn.execute(
            "with r as ("
            f"  select platform, time_bucket, {period} as day, sum(valued) as n, sum(reward_sum) as total"
            f"  from {activity} group by 1, 2, 3 having sum(valued) > 0),"
            " b as ("
            f"  select distinct on (platform, {period}) platform, {period} as day, baseline_after from {activity}"
            f"  where baseline_at is not null order by platform, {period}, baseline_at desc)"
            " select r.platform, r.time_bucket, r.day, r.n, r.total, b.baseline_after"
            " from r join b using (platform, day) order by r.day, r.platform, r.time_bucket"
        )
    )
    exploration = tuple(
        ExplorationDay(p, tb, day, int(n), int(explored))
        for p, tb, day, n, explored in conn.execute(
            f"select platform, time_bucket, {period}, sum(choices), sum(explored) from {activity}"
            " group by 1, 2, 3 having sum(choices) > 0 order by 3, 1, 2"
        )
    )
    posts = tuple(_latest(row) for row in conn.execute(_LATEST_SQL, (latest,)))
    totals_row = conn.execute(
        f"select coalesce(sum(decisions), 0), coalesce(sum(published), 0), coalesce(sum(rewarded), 0),"
        f" (select count(*) from profiles) from {activity}"
    ).fetchone()
    assert version_row is not None and totals_row is not None
    totals = dict(zip(("posts", "published", "rewarded", "businesses"), (int(v) for v in totals_row), strict=True))
    return DashboardData(
        version=int(version_row[0]),
        steps=int(version_row[1]),
        preferences=prefs,
        theta=theta,
        arrays=arrays,
        mean_x=mean_x,
        decisions=counts,
        rewards=rewards,
        exploration=exploration,
        latest=posts,
        totals=totals,
        normaliser=normaliser,
        weekly=weekly,
    )


def recent_mean_contexts(conn: Conn) -> dict[tuple[str, str], tuple[FloatArray, int]]:
    """Per cell, (the mean x of its latest RECENT_DECISIONS decisions, how many), read
    through the cell's index whatever the number stored; cells without decisions are absent."""
    sums: dict[tuple[str, str], FloatArray] = {}
    counts: dict[tuple[str, str], int] = {}
    for platform, bucket, x in conn.cursor(binary=True).execute(
        "select c.platform, c.time_bucket, r.x"
        " from unnest(%s::text[], %s::text[]) as c(platform, time_bucket)"
        " cross join lateral (select d.x from decisions d"
        "   where d.platform = c.platform and d.time_bucket = c.time_bucket"
        "   order by d.created_at desc limit %s) r",
        ([p for p, _ in _CELLS], [b for _, b in _CELLS], RECENT_DECISIONS),
    ):
        key = (platform, bucket)
        if key in sums:
            sums[key] += x
        else:
            sums[key] = np.array(x, dtype=np.float64)
        counts[key] = counts.get(key, 0) + 1
    return {key: (total / counts[key], counts[key]) for key, total in sums.items()}


def store_typical_contexts(conn: Conn, contexts: dict[tuple[str, str], tuple[FloatArray, int]], now: datetime) -> None:
    for (platform, bucket), (x, n) in sorted(contexts.items()):
        conn.execute(
            "insert into typical_contexts (platform, time_bucket, x, decisions, computed_at)"
            " values (%s, %s, %b, %s, %s) on conflict (platform, time_bucket) do update"
            " set x = excluded.x, decisions = excluded.decisions, computed_at = excluded.computed_at",
            (platform, bucket, x, n, now),
        )


def typical_contexts(conn: Conn) -> dict[tuple[str, str], FloatArray]:
    return {
        (platform, bucket): x
        for platform, bucket, x in conn.cursor(binary=True).execute(
            "select platform, time_bucket, x from typical_contexts"
        )
    }


def typical_contexts_computed_at(conn: Conn) -> datetime | None:
    row = conn.execute("select min(computed_at) from typical_contexts").fetchone()
    return None if row is None else row[0]


# The latest posts first (through their index, under an owner's row-level security too),
# then what is joined to them.
_LATEST_SQL = (
    "with p as materialized (select * from posts order by scheduled_for desc, post_id limit %s)"
    " select p.post_id::text, pr.name, p.platform, d.time_bucket, p.scheduled_for, p.status, d.action,"
    " d.joint_propensity, d.policy_version, p.mode, p.caption_prompt, p.image_prompt, p.caption, p.image_url,"
    " p.content_source, p.content_status, r.status, r.value, d.holdback"
    " from p join decisions d using (post_id) join profiles pr using (business_id)"
    " left join rewards r using (post_id)"
    " order by p.scheduled_for desc, p.post_id"
)


def _latest(row: tuple[Any, ...]) -> LatestPost:
    return LatestPost(
        post_id=row[0],
        business=row[1],
        platform=row[2],
        time_bucket=row[3],
        scheduled_for=row[4],
        status=row[5],
        action=dict(row[6]),
        joint_propensity=float(row[7]),
        policy_version=int(row[8]),
        mode=row[9],
        caption_prompt=row[10],
        image_prompt=row[11],
        caption=row[12],
        image_url=row[13],
        content_source=row[14],
        content_status=row[15],
        reward_status=row[16],
        reward=None if row[17] is None else float(row[17]),
        holdback=bool(row[18]),
    )


# What works: rewards per business, platform and chosen value, over this many days.
VALUE_DAYS = 90


# Overlapping sweeps: one recomputes, the other skips (transaction-scoped, so a pooler is fine).
_VALUE_REWARDS_LOCK = 7_202_612_060_801


def refresh_value_rewards(conn: Conn, now: datetime) -> bool:
    """Recompute every business's rewards per platform and chosen value (the sweep); False
    when an overlapping sweep is doing it (its rows would collide with these)."""
    if not conn.execute("select pg_try_advisory_xact_lock(%s)", (_VALUE_REWARDS_LOCK,)).fetchone()[0]:  # type: ignore[index]
        return False
    conn.execute("delete from value_rewards")
    conn.execute(
        "insert into value_rewards (business_id, platform, dimension, value, posts, total, squares, computed_at)"
        " select p.business_id, d.platform, kv.key, kv.value, count(*), sum(r.value), sum(r.value * r.value), %s"
        " from rewards r join decisions d on d.post_id = r.post_id join posts p on p.post_id = r.post_id"
        " cross join jsonb_each_text(d.action) kv"
        " where r.status = 'computed' and not d.holdback and r.computed_at > %s - make_interval(days => %s)"
        " group by 1, 2, 3, 4",
        (now, now, VALUE_DAYS),
    )
    return True


def value_rewards_computed_at(conn: Conn) -> datetime | None:
    row = conn.execute("select max(computed_at) from value_rewards").fetchone()
    return None if row is None else row[0]


def value_stats(conn: Conn, owner: UUID | None, business: UUID | None = None) -> list[ValueStat]:
    """Summed over an owner's businesses, or every business (an operator); of one ``business``
    when given."""
    where, params = [], []
    if owner is not None:
        where.append("business_id in (select business_id from profiles where owner_id = %s)")
        params.append(owner)
    if business is not None:
        where.append("business_id = %s")
        params.append(business)
    rows = conn.execute(
        "select platform, dimension, value, sum(posts), sum(total), sum(squares) from value_rewards"
        + (" where " + " and ".join(where) if where else "")
        + " group by 1, 2, 3 order by 1, 2, 3",
        params,
    ).fetchall()
    return [ValueStat(p, d, v, int(n), float(t), float(s)) for p, d, v, n, t, s in rows]
