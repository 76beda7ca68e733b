"""A business's posts as an integrator reads them (read_business, docs/read-api.md): each
post with its decision, latest snapshot and reward, newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.rows import class_row

from shared.store.db import Conn


@dataclass(frozen=True)
class PostListing:
    post_id: UUID
    platform: str
    topic: str
    status: str
    created_at: datetime
    scheduled_for: datetime
    scheduled_by: str
    posted_at: datetime | None
    deleted_at: datetime | None
    review: str
    caption: str | None
    edited_caption: str | None
    image_url: str | None
    content_status: str
    action: dict[str, str]
    joint_propensity: float
    policy_version: int
    learner: str
    holdback: bool
    edited: bool
    time_bucket: str
    snapshots: int
    latest_snapshot: dict[str, Any] | None  # the counters of the latest snapshot, by name
    reward_status: str | None
    reward_value: float | None
    reward_computed_at: datetime | None


_SELECT = (
    "select p.post_id, p.platform, p.topic, p.status, p.created_at, p.scheduled_for, p.scheduled_by,"
    " p.posted_at, p.deleted_at, p.review, p.caption, p.edited_caption, p.image_url, p.content_status,"
    " d.action, d.joint_propensity, d.policy_version, d.learner, d.holdback, d.edited, d.time_bucket,"
    " coalesce(s.n, 0) as snapshots, s.latest as latest_snapshot,"
    " r.status as reward_status, r.value as reward_value, r.computed_at as reward_computed_at"
    " from posts p join decisions d on d.post_id = p.post_id"
    " left join rewards r on r.post_id = p.post_id"
    " left join lateral ("
    "   select count(*) as n, (array_agg(jsonb_build_object('observed_at', sn.observed_at, 'likes', sn.likes,"
    "     'comments', sn.comments, 'shares', sn.shares, 'saves', sn.saves, 'replies', sn.replies,"
    "     'reposts', sn.reposts, 'reactions', sn.reactions, 'impressions', sn.impressions, 'reach', sn.reach,"
    "     'follower_count', sn.follower_count) order by sn.observed_at desc))[1] as latest"
    "   from snapshots sn where sn.post_id = p.post_id) s on true"
    " where p.business_id = %s"
)


def list_posts(
    conn: Conn, business_id: UUID, limit: int, after: tuple[datetime, UUID] | None, platform: str | None = None
) -> list[PostListing]:
    """Up to ``limit`` posts (of ``platform``, or every one), newest first (by creation, then id),
    after the keyset ``after``."""
    params: list[object] = [business_id]
    where = ""
    if platform is not None:
        where += " and p.platform = %s"
        params.append(platform)
    if after is not None:
        where += " and (p.created_at, p.post_id) < (%s, %s)"
        params += [after[0], after[1]]
    order = " order by p.created_at desc, p.post_id desc limit %s"
    return conn.cursor(row_factory=class_row(PostListing)).execute(_SELECT + where + order, [*params, limit]).fetchall()
