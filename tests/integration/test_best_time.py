"""When to post, through HTTP on real Postgres (docs/best-time.md): a draft left unscheduled
goes out at the business's best slot, learned from its own rewards and everyone's (which the
sweep keeps); a given time and auto_publish keep theirs."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from shared.core.best_time import LEAD, SLOT_HOURS
from shared.core.context import time_bucket_of
from shared.services.best_time import best_times
from tests.support.functions import BERLIN, a_day_of_posts, compute, embedding, generate


def test_an_unscheduled_draft_goes_out_at_the_slot_that_earned_most(runtime, functions, clock, make_profile):
    business = make_profile(time_zone="Europe/Berlin")
    # Two weeks: evenings earn far more than mornings for this business.
    for day in range(14):
        a_day_of_posts(functions, clock, business, day, {9: 5, 19: 400})
    compute(functions, {"sweep": True})  # the sweep keeps everyone's rewards per slot
    now = clock.now()
    draft = generate(functions, business, "when-best", "linkedin", topic_embedding=embedding(8))
    assert draft["scheduled_by"] == "best_time"
    local = datetime.fromisoformat(draft["scheduled_for"]).astimezone(BERLIN)
    assert (local.hour, time_bucket_of(local.hour)) == (SLOT_HOURS["evening"], "evening")
    assert timedelta(0) < local - now.astimezone(BERLIN) <= timedelta(days=1) + LEAD
    report = best_times(runtime.db, business, "linkedin", now)
    slots = {(s.time_bucket, s.day_of_week): s for s in report.slots}
    assert report.best.time_bucket == "evening"
    assert slots[("evening", None)].low > slots[("morning", None)].high  # sure, with 14 posts each
    assert (slots[("evening", None)].posts, slots[("night", None)].posts) == (14, 0)
    # A replay answers the same time; the decision was made for that slot.
    again = generate(functions, business, "when-best", "linkedin", topic_embedding=embedding(8), expect=(200,))
    assert (again["scheduled_for"], again["scheduled_by"], again["time_bucket"]) == (
        draft["scheduled_for"],
        "best_time",
        "evening",
    )


def test_a_given_time_and_auto_publish_keep_theirs(runtime, functions, clock, make_profile):
    business = make_profile()
    given = (clock.now() + timedelta(days=2)).isoformat()
    answer = generate(functions, business, "given", "x", scheduled_for=given)
    assert (answer["scheduled_for"], answer["scheduled_by"]) == (datetime.fromisoformat(given).isoformat(), "given")
    answer = generate(functions, business, "now", "x", auto_publish=True)
    assert (answer["scheduled_for"], answer["scheduled_by"]) == (clock.now().isoformat(), "now")


def test_without_any_rewards_a_draft_still_gets_a_time_in_the_business_zone(runtime, functions, clock, make_profile):
    business = make_profile(time_zone="America/Los_Angeles")
    answer = generate(functions, business, "first", "instagram")
    local = datetime.fromisoformat(answer["scheduled_for"]).astimezone(ZoneInfo("America/Los_Angeles"))
    assert answer["scheduled_by"] == "best_time" and local.hour in SLOT_HOURS.values()
    assert datetime.fromisoformat(answer["scheduled_for"]) - clock.now() >= LEAD


def test_the_dashboard_names_an_owners_businesses_only_and_an_operator_every_busy_one(
    runtime, functions, clock, make_profile
):
    from uuid import uuid4

    from shared.services.best_time import best_time_rows, refresh_slot_rewards

    alice, bob = uuid4(), uuid4()
    alices = make_profile(owner_id=alice, name="Alice Bakery", time_zone="Europe/Berlin")
    bobs = make_profile(owner_id=bob, name="Bob Books", time_zone="Europe/Berlin", seed=2)
    for day in range(2):
        a_day_of_posts(functions, clock, alices, day, {9: 30})
    for day in range(2, 4):
        a_day_of_posts(functions, clock, bobs, day, {19: 30})
    now = clock.now()
    assert best_time_rows(runtime.db, alice, now) == []  # nothing counted until the sweep's refresh
    assert refresh_slot_rewards(runtime.db, now) is True
    mine = best_time_rows(runtime.db, alice, now)
    assert [(r.business, r.platform, r.posts) for r in mine] == [("Alice Bakery", "linkedin", 2)]
    assert mine[0].slot == "morning (5–12 h)" and mine[0].next_time.tzinfo is not None
    every = best_time_rows(runtime.db, None, now)
    assert sorted(r.business for r in every) == ["Alice Bakery", "Bob Books"]


def test_what_works_reads_an_owners_businesses_only(runtime, functions, clock, make_profile):
    """(The dashboard's "What works", which the sweep precomputes like the best times.)"""
    from uuid import uuid4

    from shared.services.dashboard import refresh_what_works, what_works_rows

    alice, bob = uuid4(), uuid4()
    alices = make_profile(owner_id=alice, time_zone="Europe/Berlin")
    bobs = make_profile(owner_id=bob, time_zone="Europe/Berlin", seed=2)
    for day in range(6):
        a_day_of_posts(functions, clock, alices if day % 2 == 0 else bobs, day, {9: 20, 12: 60, 19: 40})
    assert refresh_what_works(runtime.db, clock.now()) is True
    assert refresh_what_works(runtime.db, clock.now(), every=timedelta(hours=6)) is False  # fresh enough
    mine = what_works_rows(runtime.db, runtime.space, alice)
    assert {r.platform for r in mine} == {"linkedin"} and all(r.platform_posts == 9 for r in mine)
    everyone = what_works_rows(runtime.db, runtime.space, None)
    assert everyone and all(r.platform_posts == 18 for r in everyone)
    assert all(r.posts >= 5 and r.low <= r.lift <= r.high for r in everyone)
