"""read_business through HTTP on real Postgres (docs/read-api.md): a business's posts a page
at a time with their decisions, latest snapshots and rewards, when to post, and what the
policy would choose for it now. Reads change nothing. Owners: tests/integration/test_auth.py."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from shared.core.context import PLATFORMS, TIME_BUCKETS
from shared.services.dashboard import refresh_what_works
from tests.support.functions import (
    BERLIN,
    a_day_of_posts,
    embedding,
    error_paths,
    generate,
    metrics,
    publish,
    state_digest,
)


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


def test_preferences_are_what_the_next_decision_draws_for_this_business(runtime, functions, clock, make_profile):
    business = make_profile(time_zone="Europe/Berlin")
    for day in range(6):  # 18 rewarded LinkedIn posts, every one on the same topic
        a_day_of_posts(functions, clock, business, day, {9: 20, 12: 60, 19: 40})
    refresh_what_works(runtime.db, clock.now())  # the sweep's work

    digest = state_digest(runtime)
    found = read(functions, {"business_id": str(business), "view": "preferences"})["preferences"]
    assert state_digest(runtime) == digest  # a read
    assert (found["context"], found["context_posts"]) == ("recent_posts", 18)
    assert [(c["platform"], c["time_bucket"]) for c in found["cells"]] == [
        (p, b) for p in PLATFORMS for b in TIME_BUCKETS
    ]
    # The business's context is its posts' (one topic): a next decision there logs these π.
    when = (clock.now() + timedelta(days=1)).astimezone(BERLIN).replace(hour=13, minute=5)
    nxt = generate(
        functions, business, "next", "linkedin", scheduled_for=when.isoformat(), topic_embedding=embedding(7)
    )
    with runtime.db.statement() as conn:
        version, choices, holdback = conn.execute(
            "select policy_version, choices, holdback from decisions where post_id = %s", (nxt["post_id"],)
        ).fetchone()
    assert version == found["policy_version"] and not holdback
    cell = next(c for c in found["cells"] if (c["platform"], c["time_bucket"]) == ("linkedin", "afternoon"))
    assert [d["dimension"] for d in cell["dimensions"]] == [c["dimension"] for c in choices]
    for shown, logged in zip(cell["dimensions"], choices, strict=True):
        assert [v["value"] for v in shown["values"]] == logged["values"]
        assert [v["probability"] for v in shown["values"]] == pytest.approx(logged["pi"], rel=1e-9, abs=1e-12)
        best = max(shown["values"], key=lambda v: v["probability"])
        assert shown["most_likely"] == best["value"]
    # The evidence is the business's own: 18 LinkedIn posts, each value found in at least 5.
    works = found["what_works"]
    assert works and all(w["platform"] == "linkedin" and w["platform_posts"] == 18 for w in works)
    assert all(w["posts"] >= 5 and w["low"] <= w["lift"] <= w["high"] and w["label"] for w in works)
    assert {w["dimension"] for w in works} <= {d.name for d in runtime.space.dimensions}

    only_x = read(functions, {"business_id": str(business), "view": "preferences", "platform": "x"})["preferences"]
    assert {c["platform"] for c in only_x["cells"]} == {"x"} and only_x["what_works"] == []


def test_preferences_of_a_business_without_posts_are_at_its_profile(runtime, functions, make_profile):
    with_text = read(functions, {"business_id": str(make_profile()), "view": "preferences"})["preferences"]
    assert (with_text["context"], with_text["context_posts"], with_text["what_works"]) == ("profile", 0, [])
    without = read(functions, {"business_id": str(make_profile(embedding=None)), "view": "preferences"})
    assert without["preferences"]["context"] == "none"
    for cell in with_text["cells"]:
        for dim in cell["dimensions"]:
            assert sum(v["probability"] for v in dim["values"]) == pytest.approx(1.0)


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


@pytest.mark.parametrize("view", ["posts", "preferences"])
def test_an_unknown_business_is_a_404(runtime, functions, view):
    answer = read(functions, {"business_id": str(UUID(int=7)), "view": view}, expect=404)
    assert error_paths(answer) == ["business_id"]
