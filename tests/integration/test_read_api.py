"""read_business through HTTP on real Postgres (docs/read-api.md): a business's posts a page
at a time with their decisions, latest snapshots and rewards, and when to post. Reads change
nothing. Owners: tests/integration/test_auth.py."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from tests.support.functions import embedding, error_paths, generate, metrics, publish, state_digest


def read(functions, body, expect: int = 200):
    status, answer = functions.post("read_business", body)
    assert status == expect, answer
    return answer


def test_posts_come_newest_first_a_page_at_a_time_with_their_decision_snapshot_and_reward(
    runtime, functions, clock, make_profile
):
    business = make_profile()
    made = []
    for i, platform in enumerate(("x", "linkedin", "x", "instagram", "x")):
        clock.advance(timedelta(minutes=1))
        made.append(generate(functions, business, f"r{i}", platform, topic_embedding=embedding(i)))
    # The first is published and rewarded, the second published with one snapshot, the third edited.
    start = clock.now()
    publish(functions, made[0]["post_id"], start)
    publish(functions, made[1]["post_id"], start)
    clock.set(start + timedelta(hours=6))
    metrics(functions, made[1]["post_id"], clock.now(), likes=3)
    clock.set(start + timedelta(hours=24))
    metrics(functions, made[0]["post_id"], start + timedelta(hours=6), likes=4)
    assert metrics(functions, made[0]["post_id"], clock.now(), likes=9, comments=2)["reward"] == "computed"
    functions.post("review_post", {"post_id": made[2]["post_id"], "action": "edit", "caption": "Mine."})

    digest = state_digest(runtime)
    seen, cursor, pages = [], None, 0
    while True:
        body = {"business_id": str(business), "view": "posts", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = read(functions, body)
        seen += page["posts"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert state_digest(runtime) == digest  # a read
    assert pages == 3 and [p["post_id"] for p in seen] == [m["post_id"] for m in reversed(made)]
    by_id = {p["post_id"]: p for p in seen}
    rewarded, observed, edited = (by_id[made[k]["post_id"]] for k in range(3))
    assert rewarded["status"] == "posted" and rewarded["snapshots"] == 2
    assert rewarded["reward"]["status"] == "computed" and -1 <= rewarded["reward"]["value"] <= 1
    assert (rewarded["latest_snapshot"]["likes"], rewarded["latest_snapshot"]["comments"]) == (9, 2)
    assert rewarded["action"] == made[0]["action"] and rewarded["joint_propensity"] == made[0]["joint_propensity"]
    assert (observed["snapshots"], observed["reward"]["status"]) == (1, "pending")
    assert observed["latest_snapshot"]["likes"] == 3
    assert (edited["edited"], edited["edited_caption"], edited["reward"], edited["latest_snapshot"]) == (
        True,
        "Mine.",
        None,
        None,
    )
    only_x = read(functions, {"business_id": str(business), "view": "posts", "platform": "x"})
    assert [p["post_id"] for p in only_x["posts"]] == [made[k]["post_id"] for k in (4, 2, 0)]


def test_best_times_name_every_bucket_and_the_next_time(runtime, functions, make_profile):
    business = make_profile(time_zone="Asia/Kolkata")
    answer = read(functions, {"business_id": str(business), "view": "best_times", "platform": "linkedin"})
    found = answer["best_times"]
    assert found["time_zone"] == "Asia/Kolkata" and found["platform"] == "linkedin"
    assert [s["time_bucket"] for s in found["slots"]] == ["morning", "afternoon", "evening", "night"]
    assert found["best"] in found["slots"]


@pytest.mark.parametrize(
    ("body", "status", "path"),
    [
        ({"view": "best_times"}, 400, "platform"),
        ({"view": "posts", "cursor": "abc"}, 400, "cursor"),
        ({"view": "posts", "cursor": "2026-01-01T00:00:00|00000000-0000-4000-8000-000000000001"}, 400, "cursor"),
        ({"view": "posts", "limit": 0}, 400, "limit"),
        ({"view": "everything"}, 400, "view"),
    ],
)
def test_a_bad_read_is_a_400_naming_the_field(runtime, functions, make_profile, body, status, path):
    answer = read(functions, {"business_id": str(make_profile())} | body, expect=status)
    assert error_paths(answer) == [path]


def test_an_unknown_business_is_a_404(runtime, functions):
    answer = read(functions, {"business_id": str(UUID(int=7)), "view": "posts"}, expect=404)
    assert error_paths(answer) == ["business_id"]
