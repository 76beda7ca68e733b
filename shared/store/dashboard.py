"""What the dashboard reads (SQL only; shaping and charts are in shared/presentation/).

Counts, rewards and exploration come from the per-day activity tables the writes keep up
to date (migration 20261206040000_activity_days.sql), so the page reads a few rows per day
and cell however many decisions are stored.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from uuid import UUID

import numpy as np

from shared.core.context import PLATFORMS, TIME_BUCKETS, FloatArray
from shared.core.what_works import ValueStat
from shared.presentation.data import (
    INTERACTIONS,
    WEEKLY_AFTER_DAYS,
    BusinessLink,
    DashboardData,
    EngagementDay,
    ExplorationDay,
    FollowerRow,
    LatestPost,
    RewardDay,
    StandoutPost,
)
from shared.store.db import Conn
from shared.store.policy import business_context, read_policy

# The policy's "typical context" of a cell is the mean x of its latest decisions.
RECENT_DECISIONS = 50

_CELLS = [(p, b) for p in PLATFORMS for b in TIME_BUCKETS]


def load_dashboard(
    conn: Conn,
    *,
    latest: int = 30,
    owner: UUID | None = None,
    business: UUID | None = None,
    since: date | None = None,
) -> DashboardData:
    """Everything the dashboard shows, read in the caller's transaction (one snapshot). With
    ``owner`` (a Supabase user id), the posts, decisions, activity and profiles are read as
    that user, under the row-level security every signed-in user has: their own businesses
    only. With ``business``, of that business only (the caller checked it is in scope): the
    policy at its own context with its own terms. Otherwise the policy shown is the shared one,
    at the typical contexts of every business's decisions (stored by the sweep,
    ``store_typical_contexts``). Engagement and followers from ``since`` (a UTC day)."""
    policy_now = read_policy(conn, None if business is None else str(business))
    if business is None:
        mean_x = typical_contexts(conn)
    else:
        x, _ = business_context(conn, business)
        mean_x = {} if x is None else {cell: x for cell in _CELLS}
    where, params = scope_filter(owner, business)
    engagement = _engagement(conn, where, params, since, per_business=owner is not None or business is not None)
    followers = _followers(conn, where, params, since) if owner is not None or business is not None else ()
    standouts = _standouts(conn, where, params)
    businesses = listed_businesses(conn, owner)
    if owner is not None:
        # Until the transaction ends; a pooled connection keeps nothing of it.
        conn.execute("set local role authenticated")
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps({"sub": str(owner)}),))
    # An owner's rows through row-level security; one business's by its id.
    activity, activity_weeks = (
        ("activity_days", "activity_weeks")
        if owner is None and business is None
        else ("business_activity_days", "business_activity_weeks")
    )
    one_business: tuple[str, list[object]] = ("true", []) if business is None else ("business_id = %s", [business])
    activity_where, activity_args = one_business
    first, last = conn.execute(
        f"select min(day), max(day) from {activity} where {activity_where}", activity_args
    ).fetchone() or (None, None)
    weekly = first is not None and (last - first).days > WEEKLY_AFTER_DAYS
    # Long spans are drawn per week (dated by its Monday), from the per-week rows the writes
    # keep beside the days': a row per cell and week however densely the weeks were posted.
    periods, period = (activity_weeks, "week") if weekly else (activity, "day")
    # One pass over the activity rows: each cell and period's sums, and its latest baseline.
    groups = conn.execute(
        f"select platform, time_bucket, {period}, sum(decisions), sum(published), sum(rewarded), sum(valued),"
        " sum(reward_sum), sum(choices), sum(explored), max(baseline_at),"
        " (array_agg(baseline_after order by baseline_at desc) filter (where baseline_at is not null))[1]"
        f" from {periods} where {activity_where} group by 1, 2, 3",
        activity_args,
    ).fetchall()
    counts: dict[tuple[str, str], int] = {}
    sums = {"posts": 0, "published": 0, "rewarded": 0}
    baselines: dict[tuple[str, date], tuple[datetime, float]] = {}  # (platform, period) → the latest
    for p, tb, day, decisions, published, rewarded, _, _, _, _, at, baseline in groups:
        counts[(p, tb)] = counts.get((p, tb), 0) + int(decisions)
        sums["posts"] += int(decisions)
        sums["published"] += int(published)
        sums["rewarded"] += int(rewarded)
        if at is not None and ((p, day) not in baselines or at > baselines[(p, day)][0]):
            baselines[(p, day)] = (at, float(baseline))
    rewards = tuple(
        sorted(
            (
                RewardDay(p, tb, day, int(n), float(total) / int(n), baselines[(p, day)][1])
                for p, tb, day, _, _, _, n, total, _, _, _, _ in groups
                if n > 0 and (p, day) in baselines
            ),
            key=lambda r: (r.day, r.platform, r.time_bucket),
        )
    )
    exploration = tuple(
        sorted(
            (
                ExplorationDay(p, tb, day, int(n), int(explored))
                for p, tb, day, _, _, _, _, _, n, explored, _, _ in groups
                if n > 0
            ),
            key=lambda e: (e.day, e.platform, e.time_bucket),
        )
    )
    latest_args: list[object] = [latest]
    if owner is None and business is None:
        latest_sql = _LATEST_SQL.format(latest=_LATEST_ALL)
    else:
        scoped = _LATEST_SCOPED.format(where=activity_where)
        latest_sql, latest_args = _LATEST_SQL.format(latest=scoped), [*activity_args, latest, latest]
    posts = tuple(_latest(row) for row in conn.execute(latest_sql, latest_args))
    businesses_row = conn.execute(f"select count(*) from profiles where {activity_where}", activity_args).fetchone()
    assert businesses_row is not None
    totals = {**sums, "businesses": int(businesses_row[0])}
    return DashboardData(
        policy=policy_now,
        mean_x=mean_x,
        decisions=counts,
        rewards=rewards,
        exploration=exploration,
        latest=posts,
        totals=totals,
        weekly=weekly,
        business=None if business is None else str(business),
        engagement=engagement,
        followers=followers,
        standouts=standouts,
        businesses=businesses,
    )


def scope_filter(owner: UUID | None, business: UUID | None) -> tuple[str, list[object]]:
    """The page's scope over a table with business_id, written out (its tables are service-only)."""
    where: list[str] = []
    params: list[object] = []
    if owner is not None:
        where.append("business_id in (select business_id from profiles where owner_id = %s)")
        params.append(owner)
    if business is not None:
        where.append("business_id = %s")
        params.append(business)
    return " and ".join(where) or "true", params


def _engagement(
    conn: Conn, where: str, params: list[object], since: date | None, *, per_business: bool
) -> tuple[EngagementDay, ...]:
    """Per platform and day: from each business's rows in a scope, or the every-business sums."""
    columns = "posts, " + ", ".join(_ENGAGEMENT_COUNTERS)
    sums = ", ".join(f"sum({c})" for c in columns.split(", "))
    if per_business:
        sql = f"select platform, day, {sums} from engagement_days where {where} and day >= %s group by 1, 2"
        args = [*params, since or date.min]
    else:
        sql = f"select platform, day, {columns} from platform_engagement_days where day >= %s"
        args = [since or date.min]
    return tuple(
        EngagementDay(platform, day, int(posts), dict(zip(_ENGAGEMENT_COUNTERS, map(int, rest), strict=True)))
        for platform, day, posts, *rest in conn.execute(sql + " order by 2, 1", args)
    )


_ENGAGEMENT_COUNTERS = (*INTERACTIONS, "impressions")

# Follower counts: per business and platform, the latest and the first of the window.
_FOLLOWER_ROWS = 24


def _followers(conn: Conn, where: str, params: list[object], since: date | None) -> tuple[FollowerRow, ...]:
    rows = conn.execute(
        "select pr.name, f.platform, f.followers, f.day, e.followers, e.day from ("
        f"  select distinct on (business_id, platform) * from follower_days where {where}"
        "   order by business_id, platform, day desc) f"
        " join profiles pr on pr.business_id = f.business_id"
        " cross join lateral (select followers, day from follower_days e"
        "   where e.business_id = f.business_id and e.platform = f.platform and e.day >= %s"
        "   order by e.day limit 1) e"
        " order by pr.name, f.platform limit %s",
        [*params, since or date.min, _FOLLOWER_ROWS],
    ).fetchall()
    return tuple(FollowerRow(n, p, int(f), d, int(ef), ed) for n, p, f, d, ef, ed in rows)


def _standouts(conn: Conn, where: str, params: list[object]) -> tuple[StandoutPost, ...]:
    """The scope's best and worst posts among what the sweep kept (``refresh_value_rewards``)."""
    rows = conn.execute(
        "select s.best, s.reward, pr.name, p.platform, p.scheduled_for, pr.time_zone, d.action,"
        " coalesce(p.edited_caption, p.caption), d.holdback from ("
        f"  (select * from standout_posts where {where} and best order by reward desc, post_id limit %s)"
        "  union all"
        f"  (select * from standout_posts where {where} and not best order by reward, post_id limit %s)) s"
        " join posts p on p.post_id = s.post_id join decisions d on d.post_id = s.post_id"
        " join profiles pr on pr.business_id = s.business_id"
        " order by s.best desc, case when s.best then -s.reward else s.reward end",
        [*params, STANDOUTS, *params, STANDOUTS],
    ).fetchall()
    return tuple(
        StandoutPost(bool(b), float(r), n, p, at, tz, dict(a), c, bool(h)) for b, r, n, p, at, tz, a, c, h in rows
    )


# The page's business selector lists at most this many (by name).
LISTED_BUSINESSES = 100


def listed_businesses(conn: Conn, owner: UUID | None) -> tuple[BusinessLink, ...]:
    where = "" if owner is None else " where owner_id = %s"
    rows = conn.execute(
        f"select business_id::text, name from profiles{where} order by name, business_id limit %s",
        (LISTED_BUSINESSES,) if owner is None else (owner, LISTED_BUSINESSES),
    ).fetchall()
    return tuple(BusinessLink(b, n) for b, n in rows)


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


# The latest posts first, through an index, then what is joined to them. Every business's:
# the newest of all posts. An owner's (row-level security) or one business's: the newest of
# each business in scope, merged; a walk down all posts would step over every other
# business's (a hundred times the rows at 100 businesses).
_LATEST_ALL = "select * from posts order by scheduled_for desc, post_id limit %s"
_LATEST_SCOPED = (
    "select q.* from (select business_id from profiles where {where}) b cross join lateral"
    " (select * from posts where posts.business_id = b.business_id order by scheduled_for desc, post_id"
    " limit %s) q order by q.scheduled_for desc, q.post_id limit %s"
)
_LATEST_SQL = (
    "with p as materialized ({latest})"
    " select p.post_id::text, pr.name, p.platform, d.time_bucket, p.scheduled_for, p.status, d.action,"
    " d.joint_propensity, d.policy_version, p.mode, p.caption_prompt, p.image_prompt, p.caption, p.image_url,"
    " p.content_source, p.content_status, r.status, r.value, d.holdback, pr.time_zone"
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
        time_zone=row[19],
    )


# What works: rewards per business, platform and chosen value, over this many days.
VALUE_DAYS = 90
# Top and bottom posts: this many of each, per business, over the same days.
STANDOUTS = 3


# Overlapping sweeps: one recomputes, the other skips (transaction-scoped, so a pooler is fine).
_VALUE_REWARDS_LOCK = 7_202_612_060_801


def refresh_value_rewards(conn: Conn, now: datetime) -> bool:
    """Recompute every business's rewards per platform and chosen value (the sweep); False
    when an overlapping sweep is doing it (its rows would collide with these)."""
    if not conn.execute("select pg_try_advisory_xact_lock(%s)", (_VALUE_REWARDS_LOCK,)).fetchone()[0]:  # type: ignore[index]
        return False
    conn.execute("delete from value_rewards")
    conn.execute("delete from standout_posts")
    # Each business's three best and three worst rewarded posts of the same days.
    conn.execute(
        "insert into standout_posts (business_id, post_id, best, reward, computed_at)"
        " select business_id, post_id, b.best, value, %s from ("
        "   select p.business_id, r.post_id, r.value,"
        "   row_number() over (partition by p.business_id order by r.value desc, r.post_id) as hi,"
        "   row_number() over (partition by p.business_id order by r.value, r.post_id) as lo"
        "   from rewards r join posts p on p.post_id = r.post_id"
        "   where r.status = 'computed' and r.computed_at > %s - make_interval(days => %s)) t"
        " cross join (values (true), (false)) b(best)"
        " where (b.best and t.hi <= %s) or (not b.best and t.lo <= %s)",
        (now, now, VALUE_DAYS, STANDOUTS, STANDOUTS),
    )
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
    where, params = scope_filter(owner, business)
    rows = conn.execute(
        "select platform, dimension, value, sum(posts), sum(total), sum(squares) from value_rewards"
        + f" where {where} group by 1, 2, 3 order by 1, 2, 3",
        params,
    ).fetchall()
    return [ValueStat(p, d, v, int(n), float(t), float(s)) for p, d, v, n, t, s in rows]
