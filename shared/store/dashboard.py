"""What the dashboard reads (SQL only; shaping and charts are in shared/dashboard/)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

import numpy as np

from shared.bandit import RidgeIGW
from shared.context import FloatArray
from shared.normaliser import ContextNormaliser
from shared.store import normalisers, policy
from shared.store.db import Conn
from shared.store.learner import read_arrays

# The policy's "typical context" of a cell is the mean x of its latest decisions.
RECENT_DECISIONS = 200


@dataclass(frozen=True)
class RewardDay:
    platform: str
    time_bucket: str
    day: date
    posts: int
    mean_reward: float
    baseline: float  # the platform baseline after the last reward folded in that day (per platform, not per bucket)


@dataclass(frozen=True)
class ExplorationDay:
    platform: str
    time_bucket: str
    day: date
    choices: int  # dimension choices made that day (decisions × dimensions)
    explored: int  # choices of a value other than the policy's most likely one


@dataclass(frozen=True)
class LatestPost:
    post_id: str
    business: str
    platform: str
    time_bucket: str
    scheduled_for: datetime
    status: str
    action: dict[str, str]
    joint_propensity: float
    policy_version: int
    mode: str
    caption_prompt: str
    image_prompt: str
    caption: str | None
    image_url: str | None
    content_source: str | None
    content_status: str
    reward_status: str | None
    reward: float | None
    holdback: bool = False  # the fixed baseline action (docs/lifecycle.md)


@dataclass(frozen=True)
class DashboardData:
    version: int
    preferences: dict[tuple[str, str], dict[tuple[str, str], float]]  # (platform, bucket) → (dim, value) → H
    theta: dict[tuple[str, str], FloatArray]  # (dim, value) → θ, shape (768,)
    mean_x: dict[tuple[str, str], FloatArray]  # (platform, bucket) → mean x of recent decisions, shape (768,)
    decisions: dict[tuple[str, str], int]  # (platform, bucket) → count
    rewards: tuple[RewardDay, ...]
    exploration: tuple[ExplorationDay, ...]
    latest: tuple[LatestPost, ...]
    totals: dict[str, int]
    steps: int = 0  # learning steps behind the state (the ε schedule reads them)
    normaliser: ContextNormaliser | None = None  # the active one: θ·x' uses its x' (None: the raw x)
    arrays: dict[str, FloatArray] = field(default_factory=dict)  # the reward-model learner's shared solution


def load_dashboard(conn: Conn, *, latest: int = 30, owner: UUID | None = None) -> DashboardData:
    """Everything the dashboard shows, read in the caller's transaction (one snapshot). With
    ``owner`` (a Supabase user id), the posts, decisions, rewards and profiles are read as that
    user, under the row-level security every signed-in user has: their own businesses only.
    The policy shown is the shared one either way."""
    version_row = conn.execute("select version, steps from policy_state").fetchone()
    active = normalisers.active_version(conn)
    prefs, theta = policy.read_preferences_and_theta(conn)
    arrays = read_arrays(conn, RidgeIGW.solution_names(None))
    normaliser = None if active is None else normalisers.fetch(conn, {active})[active]
    if owner is not None:
        # Until the transaction ends; a pooled connection keeps nothing of it.
        conn.execute("set local role authenticated")
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps({"sub": str(owner)}),))
    mean_x: dict[tuple[str, str], FloatArray] = {}
    counts: dict[tuple[str, str], int] = {}
    for platform, bucket, n, avg in conn.cursor(binary=True).execute(
        "with recent as ("
        "  select platform, time_bucket, x,"
        "         row_number() over (partition by platform, time_bucket order by created_at desc) as rn"
        "  from decisions),"
        " elements as ("
        "  select platform, time_bucket, u.i, avg(u.v) as v"
        "  from recent, unnest(recent.x) with ordinality as u(v, i) where rn <= %s group by 1, 2, 3)"
        " select e.platform, e.time_bucket,"
        "  (select count(*) from decisions d where d.platform = e.platform and d.time_bucket = e.time_bucket),"
        "  array_agg(e.v order by e.i)::float8[]"
        " from elements e group by 1, 2",
        (RECENT_DECISIONS,),
    ):
        mean_x[(platform, bucket)] = np.asarray(avg, dtype=np.float64)
        counts[(platform, bucket)] = int(n)
    rewards = tuple(
        RewardDay(p, tb, day, int(n), float(mean), float(b))
        for p, tb, day, n, mean, b in conn.execute(
            "with r as ("
            "  select p.platform, d.time_bucket, (p.posted_at at time zone 'UTC')::date as day, r.value,"
            "         r.baseline_after, r.computed_at"
            "  from rewards r join posts p using (post_id) join decisions d using (post_id)"
            "  where r.value is not null),"
            " b as ("
            "  select distinct on (platform, day) platform, day, baseline_after"
            "  from r order by platform, day, computed_at desc)"
            " select r.platform, r.time_bucket, r.day, count(*), avg(r.value), b.baseline_after"
            " from r join b using (platform, day)"
            " group by r.platform, r.time_bucket, r.day, b.baseline_after order by r.day"
        )
    )
    exploration = tuple(
        ExplorationDay(p, tb, day, int(n), int(explored))
        for p, tb, day, n, explored in conn.execute(
            "select d.platform, d.time_bucket, (p.scheduled_for at time zone 'UTC')::date, count(*),"
            " count(*) filter (where (c->>'propensity')::float8 < ("
            "   select max(v::float8) from jsonb_array_elements_text(c->'pi') v) - 1e-12)"
            " from decisions d join posts p using (post_id), jsonb_array_elements(d.choices) c"
            # Holdback decisions take a fixed action: they neither explore nor exploit.
            " where not d.holdback"
            " group by 1, 2, 3 order by 3"
        )
    )
    posts = tuple(_latest(row) for row in conn.execute(_LATEST_SQL, (latest,)))
    totals_row = conn.execute(
        "select (select count(*) from posts), (select count(*) from posts where status <> 'generated'),"
        " (select count(*) from rewards where status = 'computed'), (select count(*) from profiles)"
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
    )


_LATEST_SQL = (
    "select p.post_id::text, pr.name, p.platform, d.time_bucket, p.scheduled_for, p.status, d.action,"
    " d.joint_propensity, d.policy_version, p.mode, p.caption_prompt, p.image_prompt, p.caption, p.image_url,"
    " p.content_source, p.content_status, r.status, r.value, d.holdback"
    " from posts p join decisions d using (post_id) join profiles pr using (business_id)"
    " left join rewards r using (post_id)"
    " order by p.scheduled_for desc, p.post_id limit %s"
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
