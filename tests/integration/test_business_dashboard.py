"""One business's dashboard through the report function on real Postgres (docs/dashboard.md):
the business selector, its raw engagement and followers (kept by a trigger on snapshots), its
best and worst posts (kept by the sweep), local times. The holdback's lift in words:
tests/unit/test_dashboard_view.py."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest

from shared.config import PROJECT_ROOT
from shared.services.dashboard import refresh_what_works
from shared.store.db import Database
from tests.support.functions import a_day_of_posts, embedding, generate, metrics, publish


@pytest.fixture
def client(runtime):
    import functions_framework

    create = functions_framework.create_app  # untyped library call
    return create(target="report", source=str(PROJECT_ROOT / "main.py")).test_client()  # type: ignore[no-untyped-call]


def latest_counters(db: Database) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    """(business, platform) → (posts, likes, comments, impressions) summed over each post's latest
    snapshot, read from the snapshots themselves (an independent derivation)."""
    with db.statement() as conn:
        rows = conn.execute(
            "select p.business_id::text, p.platform, count(*), sum(s.likes), sum(s.comments),"
            " sum(coalesce(s.impressions, 0))"
            " from (select distinct on (post_id) * from snapshots order by post_id, observed_at desc) s"
            " join posts p using (post_id) group by 1, 2"
        ).fetchall()
    return {(b, p): (int(n), int(lk), int(c), int(i)) for b, p, n, lk, c, i in rows}


def kept_counters(db: Database) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    with db.statement() as conn:
        rows = conn.execute(
            "select business_id::text, platform, sum(posts), sum(likes), sum(comments), sum(impressions)"
            " from engagement_days group by 1, 2"
        ).fetchall()
        every = conn.execute(
            "select platform, sum(posts), sum(likes) from platform_engagement_days group by 1"
        ).fetchall()
    kept = {(b, p): (int(n), int(lk), int(c), int(i)) for b, p, n, lk, c, i in rows}
    for platform, posts, likes in every:  # the every-business table is the businesses' sum
        mine = [v for (_, p), v in kept.items() if p == platform]
        assert (int(posts), int(likes)) == (sum(v[0] for v in mine), sum(v[1] for v in mine))
    return kept


def test_engagement_is_each_posts_latest_snapshot_however_they_arrive(runtime, functions, clock, make_profile):
    business = make_profile()
    start = clock.now()
    posts = [generate(functions, business, f"r{i}", "x", topic_embedding=embedding(i))["post_id"] for i in range(2)]
    for post in posts:
        publish(functions, post, start)
    clock.set(start + timedelta(hours=30))
    metrics(functions, posts[0], start + timedelta(hours=6), likes=3, impressions=100, follower_count=2000)
    metrics(functions, posts[0], start + timedelta(hours=24), likes=9, comments=2, impressions=400)
    assert kept_counters(runtime.db) == latest_counters(runtime.db) == {(str(business), "x"): (1, 9, 2, 400)}
    # A late snapshot older than the latest changes nothing; a redelivery inserts nothing.
    metrics(functions, posts[0], start + timedelta(hours=12), likes=5, impressions=200)
    metrics(functions, posts[0], start + timedelta(hours=24), likes=9, comments=2, impressions=400)
    metrics(functions, posts[1], start + timedelta(hours=7), likes=4, follower_count=2010)
    assert kept_counters(runtime.db) == latest_counters(runtime.db) == {(str(business), "x"): (2, 13, 2, 400)}
    with runtime.db.statement() as conn:
        followers = conn.execute("select day, followers from follower_days").fetchall()
    assert followers == [((start + timedelta(hours=6)).date(), 2010)]  # the day's latest report


def test_one_business_page_shows_its_engagement_standouts_and_local_times(
    runtime, functions, clock, make_profile, client
):
    alices = make_profile(name="Alice Bakery", time_zone="Europe/Berlin")
    bobs = make_profile(name="Bob Garage", time_zone="Europe/Berlin", seed=2)
    for day in range(4):
        a_day_of_posts(functions, clock, alices if day % 2 == 0 else bobs, day, {9: 20, 12: 60, 19: 40})
    refresh_what_works(runtime.db, clock.now())  # the sweep keeps the best and worst posts with what works

    everyone = client.get("/").get_data(as_text=True)
    assert 'id="businesses"' in everyone and "All businesses" in everyone
    assert f"?business={alices}" in everyone and f"?business={bobs}" in everyone
    assert 'id="what-if-section"' in everyone and 'id="followers"' not in everyone

    resp = client.get(f"/?business={alices}")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    page = resp.get_data(as_text=True)
    assert "<h1>What the content learner has learned: Alice Bakery</h1>" in page
    assert 'aria-current="page">Alice Bakery' in page and "1 businesses · 6 posts" in page
    assert 'id="what-if-section"' not in page  # the what-ifs are over every business
    # The latest posts are hers, in Berlin time: the 19:05 post is shown at 19:05, not 17:05 or 18:05 UTC.
    latest = page[page.index('id="posts"') :]
    assert "Bob Garage" not in latest and " 19:05<br><span class='note'>Europe/Berlin · Alice Bakery" in latest
    # Engagement: her 6 LinkedIn posts' latest counters.
    posts, likes, _, _ = latest_counters(runtime.db)[(str(alices), "linkedin")]
    assert (posts, likes) == (6, 240)
    assert 'id="engagement-sentences"' in page and "On linkedin," in page
    # Her three best and three worst: from her rewards, read independently.
    with runtime.db.statement() as conn:
        rewards = [
            float(v)
            for (v,) in conn.execute(
                "select r.value from rewards r join posts p using (post_id)"
                " where p.business_id = %s and r.status = 'computed' order by r.value desc",
                (alices,),
            )
        ]
    table = page[page.index('id="standouts"') : page.index("</table>", page.index('id="standouts"'))]
    shown = [float(v) for v in re.findall(r"<td class='num'>([+-][0-9.]+)</td>", table)]
    assert shown == [round(v, 3) for v in rewards[:3] + sorted(rewards)[:3]]
    assert "Bob Garage" not in table and "Europe/Berlin" in table


def test_the_page_of_a_business_that_is_not_there_or_not_an_id_is_refused(runtime, client, make_profile):
    unknown = client.get(f"/?business={uuid.uuid4()}")
    assert unknown.status_code == 404 and unknown.get_json()["error"]["fields"][0]["path"] == "business"
    garbled = client.get("/?business=not-an-id")
    assert garbled.status_code == 400 and garbled.get_json()["error"]["fields"][0]["path"] == "business"


def test_followers_show_the_latest_count_and_its_change(runtime, functions, clock, make_profile, client):
    business = make_profile(name="Carol Cafe")
    start = clock.now()
    for i, followers in enumerate((1000, 1100)):
        clock.set(start + timedelta(days=i))
        post = generate(functions, business, f"f{i}", "instagram", topic_embedding=embedding(i))["post_id"]
        publish(functions, post, clock.now())
        clock.set(start + timedelta(days=i, hours=7))
        metrics(functions, post, start + timedelta(days=i, hours=6), likes=10, follower_count=followers)
    page = client.get(f"/?business={business}").get_data(as_text=True)
    followers = page[page.index('id="followers"') :]
    assert "1,100" in followers and "+100 (+10.0%)" in followers
