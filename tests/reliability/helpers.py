"""Building state through the functions, and running calls from many threads at once."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from threading import Barrier
from typing import Any, TypeVar

from tests.integration.support import embedding, generate, metrics

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
