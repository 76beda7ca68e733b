"""Building state through the functions, and running calls from many threads at once."""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from threading import Barrier
from typing import Any, TypeVar

from tests.support.functions import embedding, generate, metrics

T = TypeVar("T")


def concurrently(calls: list[Callable[[], T]]) -> list[T]:
    """Run every call in its own thread, all released by one barrier; results in call order."""
    barrier = Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def published_post(functions: Any, business_id: Any, request_id: str, platform: str = "linkedin") -> str:
    """A post generated and published now (auto_publish at the clock's time); its reward is pending."""
    answer = generate(
        functions,
        business_id,
        request_id,
        platform,
        topic_embedding=embedding(zlib.crc32(request_id.encode()) % 10_000),
        auto_publish=True,
    )
    return str(answer["post_id"])


def metrics_body(post_id: str, observed_at: datetime, **counters: int) -> dict[str, Any]:
    return {"type": "metrics", "post_id": post_id, "observed_at": observed_at.isoformat(), **counters}


def settled_posts(
    functions: Any, clock: Any, business_id: Any, prefix: str, count: int, platform: str = "linkedin"
) -> list[str]:
    """``count`` posts published now whose rewards (distinct values) are computed 24 h later."""
    start = clock.now()
    posts = [published_post(functions, business_id, f"{prefix}-{i}", platform) for i in range(count)]
    clock.set(start + timedelta(hours=24))
    for i, post in enumerate(posts):
        answer = metrics(functions, post, start + timedelta(hours=24), likes=5 + 7 * i, comments=i % 13, shares=i % 5)
        assert answer["reward"] == "computed", answer
    return posts


def _prefixed(alias: str, columns: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in columns.split(","))


_POST_COPY = (
    "business_id, platform, topic, scheduled_for, status, media_id, posted_at, mode, caption_prompt, image_prompt,"
    " caption, generator_prompt, content_status, content_source"
)
_DECISION_COPY = (
    "platform, time_bucket, day_of_week, x, context_fallback, action, choices, joint_propensity, tau, epsilon,"
    " policy_version, action_space, seed, learner"
)


def clone_published(rt: Any, template: str, count: int) -> list[str]:
    """``count`` copies of a published post (post, decision, pending reward, reward task), in one transaction.

    Building 1,000 posts through generate_post takes a minute; the copies are
    the rows generate_post and the published event would have written.
    """
    ids = [uuid.uuid4() for _ in range(count)]
    with rt.db.transaction() as conn:
        conn.execute(
            f"insert into posts (post_id, request_id, {_POST_COPY})"
            f" select n.id, p.request_id || '-copy-' || n.i, {_prefixed('p', _POST_COPY)}"
            " from posts p, unnest(%s::uuid[]) with ordinality as n(id, i) where p.post_id = %s",
            (ids, template),
        )
        conn.execute(
            f"insert into decisions (decision_id, post_id, {_DECISION_COPY})"
            f" select gen_random_uuid(), n.id, {_prefixed('d', _DECISION_COPY)}"
            " from decisions d, unnest(%s::uuid[]) as n(id) where d.post_id = %s",
            (ids, template),
        )
        conn.execute(
            "insert into rewards (post_id, eligible_at, finalize_by)"
            " select n.id, r.eligible_at, r.finalize_by from rewards r, unnest(%s::uuid[]) as n(id)"
            " where r.post_id = %s",
            (ids, template),
        )
        conn.execute(
            "insert into outbox (task_name, target, payload, schedule_time)"
            " select 'compute_reward-' || n.id, 'compute_reward', jsonb_build_object('post_id', n.id::text),"
            " o.schedule_time from outbox o, unnest(%s::uuid[]) as n(id) where o.task_name = 'compute_reward-' || %s",
            (ids, template),
        )
    return [str(i) for i in ids]


def insert_snapshots(rt: Any, rows: list[tuple[str, datetime, int, int]], *, processed: datetime | None) -> list[int]:
    """Snapshots written straight into the table, as the metrics collector does on Supabase:
    (post_id, observed_at, likes, comments), 8,000 followers; ``processed`` None leaves them to a webhook."""
    with rt.db.transaction() as conn:
        out = conn.execute(
            "insert into snapshots (post_id, observed_at, likes, comments, follower_count, processed_at)"
            " select p, o, l, c, 8000, %s from unnest(%s::uuid[], %s::timestamptz[], %s::bigint[], %s::bigint[])"
            " as t(p, o, l, c) order by o, p returning snapshot_id",
            (processed, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]),
        ).fetchall()
    return [int(r[0]) for r in out]
