"""docs/spec.md §7, no lost updates: 8 workers × 25 distinct rewards of one platform, applied
concurrently through update_policy, leave θ = θ₀ + Σ deltas and the version +200.

The control applies the same deltas with a deliberately naive read-modify-write
(read in one transaction, write in another; test code, not the product) and
the same check counts the updates it lost, so the check is known to catch them.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import numpy as np
import psycopg

from shared.core.rate_limits import NO_LIMITS
from tests.reliability import scale
from tests.reliability.checks import policy_violations
from tests.reliability.helpers import published_post, settled_posts
from tests.support.functions import expected_step, fetch_all, policy_version, thetas

WORKERS, EACH = scale.LOST_UPDATE_WORKERS, scale.LOST_UPDATE_EACH
TOTAL = WORKERS * EACH


def theta_gaps(got: Any, theta0: Any, deltas: Any) -> dict[Any, float]:
    """Per θ row, max |θ − (θ₀ + Σ deltas)|; empty when nothing was lost."""
    zero = np.zeros(768)
    gaps = {}
    for key in set(got) | {k for d in deltas for k in d}:
        want = theta0.get(key, zero) + sum((d.get(key, zero) for d in deltas), zero)
        gap = float(np.max(np.abs(got.get(key, zero) - want)))
        if gap > 1e-9:
            gaps[key] = gap
    return gaps


def _in_workers(job, parts: list[list[str]]) -> None:
    barrier = Barrier(len(parts))

    def run(part: list[str]) -> None:
        barrier.wait()
        job(part)

    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        list(pool.map(run, parts))


def test_eight_workers_times_25_distinct_rewards_lose_no_update_and_a_naive_writer_does(
    runtime, gradient, functions, make_profile, clock, monkeypatch
):
    # 201 posts of one business within the hour: past its hourly limit, which is not what this is about.
    monkeypatch.setattr(runtime, "limits", NO_LIMITS)
    business = make_profile()
    # θ₀ ≠ 0: one update applied before the race.
    (first,) = settled_posts(functions, clock, business, "warm", 1)
    assert functions.post("update_policy", {"post_id": first})[1]["applied"] is True
    posts = settled_posts(functions, clock, business, "lost", TOTAL)
    values = {r[0] for r in fetch_all(runtime, "select value from rewards where post_id = any(%s::uuid[])", posts)}
    assert len(values) > TOTAL // 2  # distinct rewards, so a lost or doubled one shows
    steps = [expected_step(runtime, p) for p in posts]
    deltas = [dtheta for _, dtheta in steps]
    theta0, version0 = thetas(runtime), policy_version(runtime)
    parts = [posts[i::WORKERS] for i in range(WORKERS)]

    def through_the_product(part: list[str]) -> None:
        for post in part:
            status, answer = functions.post("update_policy", {"post_id": post})
            # applied: false when another delivery's group applied it while this one waited.
            assert status == 200, answer

    started = time.monotonic()
    _in_workers(through_the_product, parts)
    product_seconds = time.monotonic() - started
    assert policy_version(runtime) == version0 + TOTAL
    ledger = fetch_all(
        runtime, "select count(distinct post_id) from policy_updates where post_id = any(%s::uuid[])", posts
    )
    assert ledger == [(TOTAL,)]
    assert theta_gaps(thetas(runtime), theta0, deltas) == {}
    assert policy_violations(runtime) == []

    # The control: the same 200 deltas again, read-modify-write without a lock.
    theta1, version1 = thetas(runtime), policy_version(runtime)
    by_post = dict(zip(posts, deltas, strict=True))

    def naive(part: list[str]) -> None:
        with psycopg.connect(runtime.db.url, autocommit=True, prepare_threshold=None) as conn:
            for post in part:
                delta = by_post[post]
                keys = sorted(delta)
                row = conn.execute("select version from policy_state").fetchone()
                current = {
                    (d, v): np.asarray(t)
                    for d, v, t in conn.execute(
                        "select dimension, value, theta from policy_theta where (dimension, value) in"
                        " (select * from unnest(%s::text[], %s::text[]))",
                        ([k[0] for k in keys], [k[1] for k in keys]),
                    )
                }
                time.sleep(0)  # let another worker in between the read and the write
                conn.execute("update policy_state set version = %s", (row[0] + 1,))  # type: ignore[index]
                for d, v in keys:
                    conn.execute(
                        "update policy_theta set theta = %s where dimension = %s and value = %s",
                        ((current[(d, v)] + delta[(d, v)]).tolist(), d, v),
                    )

    _in_workers(naive, parts)
    lost_versions = version1 + TOTAL - policy_version(runtime)
    lost_theta = theta_gaps(thetas(runtime), theta1, deltas)
    assert lost_versions > 0 and lost_theta, "the naive writer lost nothing: the check would not catch it"
    scale.record(
        "lost_updates",
        workers=WORKERS,
        each=EACH,
        product_lost=0,
        product_seconds=round(product_seconds, 2),
        naive_lost_versions=lost_versions,
        naive_theta_rows_wrong=len(lost_theta),
        theta_rows=len(theta1),
    )


def test_a_post_published_but_not_settled_has_no_update_to_lose(runtime, functions, make_profile):
    post = published_post(functions, make_profile(), "unsettled")
    status, answer = functions.post("update_policy", {"post_id": post})
    assert status == 409 and answer["error"]["fields"][0]["path"] == "post_id"
    assert policy_version(runtime) == 0
