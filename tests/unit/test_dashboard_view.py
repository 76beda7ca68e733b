"""The dashboard's pure parts: policy bars, periods, charts, escaping."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from shared.core.action_space import ActionSpace
from shared.core.context import CONTEXT_DIM
from shared.core.off_policy import Estimate
from shared.core.policy import PolicyParams, select
from shared.core.preferences import PolicyReading, probabilities_at
from shared.presentation.charts import Series, line_chart, probability_bars
from shared.presentation.data import DashboardData, ExplorationDay, LatestPost, RewardDay
from shared.presentation.page import _percent, render, what_if_sentences
from shared.presentation.view import ALL, DimensionView, Point, bars, build_view

SPACE = ActionSpace.load()
PARAMS = PolicyParams(learner="gradient")  # these tests read H and θ; the bandit has its own below
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def gradient_bars(
    prefs: dict[tuple[str, str], float], theta: dict[tuple[str, str], Any], x: np.ndarray
) -> tuple[DimensionView, ...]:
    """The bars of π as ``select`` draws from it at x (the reference the view must match)."""
    return bars(SPACE, [np.array(c.pi) for c in select(SPACE, prefs, theta, x, PARAMS, seed=0).choices])


def data(**overrides: Any) -> DashboardData:
    """A page's data; the policy's parts (version, steps, preferences, theta, arrays, normaliser)
    given by name like the rest."""
    parts: dict[str, Any] = {"version": 3, "steps": 0, "preferences": {}, "theta": {}}
    parts |= {k: overrides.pop(k) for k in (*parts, "arrays", "normaliser") if k in overrides}
    fields: dict[str, Any] = {
        "policy": PolicyReading(**parts),
        "mean_x": {},
        "decisions": {},
        "rewards": (),
        "exploration": (),
        "latest": (),
        "totals": {"posts": 0, "published": 0, "rewarded": 0, "businesses": 0},
    }
    fields.update(overrides)
    return DashboardData(**fields)


def test_the_bars_are_the_probabilities_select_draws_from():
    rng = np.random.default_rng(1)
    prefs = {("TONE", "formal"): 1.5, ("HOOK_TYPE", "question"): -0.7}
    theta = {("LENGTH", "short"): rng.normal(size=CONTEXT_DIM) * 0.1}
    x = rng.normal(size=CONTEXT_DIM) / 30
    policy = PolicyReading(3, 0, {("x", "morning"): prefs}, theta)
    dims = bars(SPACE, probabilities_at(SPACE, PARAMS, policy, "x", "morning", x))
    chosen = select(SPACE, prefs, theta, x, PARAMS, seed=5)
    for view, choice in zip(dims, chosen.choices, strict=True):
        assert view.name == choice.dimension
        np.testing.assert_allclose([b.probability for b in view.bars], choice.pi)
        assert sum(b.top for b in view.bars) == 1
    tone = next(d for d in dims if d.name == "TONE")
    assert next(b for b in tone.bars if b.top).value == "formal"


def test_the_bars_use_the_epsilon_the_schedule_gives_now():
    params = PolicyParams(epsilon=0.4, epsilon_half_life=10, epsilon_min=0.0, learner="gradient")
    prefs = {("x", "morning"): {("LENGTH", "short"): 50.0}}  # π⁰ ≈ one-hot: π = (1 − ε) + ε / 2
    view = build_view(data(preferences=prefs, steps=20), SPACE, params)
    length = next(d for d in view.cell("x", "morning").dimensions if d.name == "LENGTH")
    assert next(b for b in length.bars if b.top).probability == pytest.approx(1 - 0.1 + 0.05)


def test_a_cell_without_decisions_shows_the_policy_at_zero_context():
    view = build_view(data(preferences={("x", "morning"): {("TONE", "humorous"): 2.0}}), SPACE, PARAMS)
    tone = next(d for d in view.cell("x", "morning").dimensions if d.name == "TONE")
    assert next(b for b in tone.bars if b.top).value == "humorous"
    assert view.cell("x", ALL).dimensions == ()  # preferences are per bucket


def test_with_a_normaliser_the_bars_are_the_policy_at_x_prime_of_the_mean_context():
    from shared.core.normaliser import fit_normaliser

    rng = np.random.default_rng(2)
    normaliser = fit_normaliser(rng.normal(size=(50, CONTEXT_DIM)))
    theta = {("LENGTH", "short"): rng.normal(size=CONTEXT_DIM)}
    mean_x = rng.normal(size=CONTEXT_DIM)
    view = build_view(data(theta=theta, mean_x={("x", "morning"): mean_x}, normaliser=normaliser), SPACE, PARAMS)
    expected = gradient_bars({}, theta, normaliser.apply(mean_x, "x"))
    assert view.cell("x", "morning").dimensions == expected
    assert expected != gradient_bars({}, theta, mean_x)
    # A cell without decisions: the normaliser's mean context (components 0, the bias and platform).
    assert view.cell("x", "evening").dimensions == gradient_bars({}, theta, normaliser.apply(normaliser.mean, "x"))


def test_with_the_bandit_the_bars_are_the_shared_models_probabilities_at_the_mean_context():
    from shared.core.bandit import DEFAULT_RANK, Decision, Outcome, RidgeIGW
    from shared.core.normaliser import fit_normaliser

    rng = np.random.default_rng(4)
    normaliser = fit_normaliser(rng.normal(size=(50, CONTEXT_DIM)))
    learner = RidgeIGW(SPACE, rank=DEFAULT_RANK)
    humorous = SPACE.dimension("TONE").index("humorous")
    batch = []
    for _ in range(200):
        action = tuple(int(rng.integers(len(d.values))) for d in SPACE.dimensions)
        batch.append(Outcome(Decision("x", "morning", np.zeros(DEFAULT_RANK), action), float(action[2] == humorous)))
    assert SPACE.dimensions[2].name == "TONE"
    learner.learn(batch)
    solution = {k: v.ravel() for k, v in learner.state().items() if k in RidgeIGW.solution_names(None)}
    mean_x = rng.normal(size=CONTEXT_DIM)
    params = PolicyParams(learner="bandit")
    view = build_view(data(arrays=solution, mean_x={("x", "morning"): mean_x}, normaliser=normaliser), SPACE, params)
    bars = view.cell("x", "morning").dimensions
    expected = learner.probabilities("x", "morning", normaliser.components(mean_x))
    for dim, pi in zip(bars, expected, strict=True):
        np.testing.assert_allclose([b.probability for b in dim.bars], pi)
    tone = next(d for d in bars if d.name == "TONE")
    assert next(b for b in tone.bars if b.top).value == "humorous"


def test_rewards_are_weighted_by_posts_and_buckets_add_up_in_all():
    day = date(2026, 3, 2)
    rewards = (
        RewardDay("x", "morning", day, 1, 0.9, 0.3),
        RewardDay("x", "evening", day, 3, 0.1, 0.3),
        RewardDay("linkedin", "morning", day, 5, -0.5, -0.1),
    )
    view = build_view(data(rewards=rewards), SPACE, PARAMS)
    (total,) = view.cell("x", ALL).reward
    assert (total.period, total.n) == (day, 4) and total.value == pytest.approx(0.3)
    assert view.cell("x", "morning").reward == (Point(day, 0.9, 1),)
    assert view.cell("x", "night").reward == ()
    assert [p.value for p in view.cell("x", "night").baseline] == [0.3]  # the platform's, in every bucket


def test_exploration_is_the_share_of_choices_off_the_most_likely_value():
    day = date(2026, 3, 2)
    explore = (ExplorationDay("facebook", "night", day, 12, 3), ExplorationDay("facebook", "morning", day, 6, 6))
    view = build_view(data(exploration=explore), SPACE, PARAMS)
    assert view.cell("facebook", "night").exploration == (Point(day, 0.25, 12),)
    (total,) = view.cell("facebook", ALL).exploration
    assert (total.period, total.n) == (day, 18) and total.value == pytest.approx(0.5)


def test_long_campaigns_are_drawn_per_week():
    start = date(2026, 1, 5)  # a Monday
    rewards = tuple(RewardDay("x", "morning", start + timedelta(days=d), 1, d / 100, 0.0) for d in range(60))
    view = build_view(data(rewards=rewards), SPACE, PARAMS)
    assert view.period == "week"
    points = view.cell("x", "morning").reward
    assert len(points) == 9 and all(p.period.weekday() == 0 for p in points)
    assert points[0].value == pytest.approx(0.03) and points[0].n == 7


def test_a_line_chart_draws_one_polyline_per_series_with_its_points():
    day = date(2026, 3, 2)
    pts = tuple(Point(day + timedelta(days=i), v, 1) for i, v in enumerate([0.1, 0.3, 0.2]))
    svg = line_chart("t", [Series("reward", pts, "reward"), Series("baseline", pts[:2], "baseline")])
    assert re.findall(r'data-points="(\d+)"', svg) == ["3", "2"]
    assert svg.count("<circle") == 5


def test_an_empty_chart_says_so():
    assert "No data yet." in line_chart("t", [Series("reward", (), "reward")])


def test_bars_carry_their_probabilities():
    (dim,) = bars(ActionSpace("v", (SPACE.dimension("LENGTH"),)), [np.array([0.5, 0.5])])
    svg = probability_bars(dim.name, dim.bars)
    assert re.findall(r'data-probability="([0-9.]+)"', svg) == ["0.500000", "0.500000"]


def test_user_text_is_escaped_in_the_page():
    post = LatestPost(
        post_id=str(uuid.uuid4()),
        business="<b>Evil</b> & Co",
        platform="x",
        time_bucket="morning",
        scheduled_for=NOW,
        status="posted",
        action={"TONE": "casual"},
        joint_propensity=0.01,
        policy_version=1,
        mode="standard",
        caption_prompt="</script><script>alert(1)</script>",
        image_prompt="img",
        caption="<img src=x onerror=alert(1)>",
        image_url=None,
        content_source="offline",
        content_status="done",
        reward_status="computed",
        reward=0.25,
    )
    page = render(build_view(data(latest=(post,)), SPACE, PARAMS), NOW)
    assert "<img src=x" not in page and "<script>alert" not in page
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in page
    assert 'id="what-if-unavailable"' in page  # no evaluation stored yet


def test_the_what_if_rows_fill_the_table_when_given():
    from shared.core.off_policy import Estimate

    rows = [Estimate("greedy", "SNIPS", 0.41, 0.38, 0.44, 120, 80.0)]
    page = render(build_view(data(), SPACE, PARAMS, rows), NOW)
    assert 'id="what-if"' in page and "[0.380, 0.440]" in page and "what-if-unavailable" not in page


def _view_with(estimates: list[Estimate]) -> Any:
    return build_view(data(), SPACE, PolicyParams(), estimates)


def test_what_ifs_read_as_sentences_against_what_the_posts_earned():
    base = Estimate("logging policy (as run)", "DR", 0.40, 0.38, 0.42, 300, 300.0)
    better = Estimate("always question hooks on LinkedIn", "DR", 0.448, 0.412, 0.480, 300, 120.0)
    unsure = Estimate("short posts on X", "DR", 0.392, 0.30, 0.47, 300, 40.0)
    ips = Estimate("short posts on X", "IPS", 0.10, 0.0, 0.2, 300, 40.0)  # only DR is read
    first, second = what_if_sentences(_view_with([base, better, unsure, ips]))
    assert first == (
        "Always question hooks on LinkedIn would have earned about 12% more than the posts did: "
        "0.448 (95% interval 0.412 to 0.480) against 0.400; clearly different."
    )
    assert second.startswith("Short posts on X would have earned about 2% less") and "not clearly" in second
    assert what_if_sentences(_view_with([better])) == []  # nothing to compare with


def test_a_baseline_near_zero_is_compared_in_reward_not_in_percent():
    base = Estimate("logging policy (as run)", "DR", 0.01, -0.02, 0.04, 300, 300.0)
    other = Estimate("uniform random", "DR", 0.06, 0.03, 0.09, 300, 200.0)
    (sentence,) = what_if_sentences(_view_with([base, other]))
    assert "0.050 more reward per post" in sentence


@pytest.mark.parametrize(("p", "shown"), [(0.5, "50%"), (0.019, "1.90%"), (0.0021, "0.21%"), (2e-6, "2.0e-06")])
def test_probabilities_read_as_percentages(p, shown):
    assert _percent(p) == shown


def test_the_holdback_lift_reads_as_a_sentence_with_how_sure():
    from shared.core.lift import ArmSummary, lift_rows
    from shared.presentation.page import holdback_sentence

    clear = lift_rows({("all", False): ArmSummary(400, 0.30, 0.01), ("all", True): ArmSummary(40, 0.20, 0.01)}, ())
    said = holdback_sentence(clear[0])
    assert said is not None and said.startswith("Posts the policy chose earned 0.100 more reward per post")
    assert "(about 50% more)" in said and "(400 against 40 posts, 95% interval +0.0" in said
    assert said.endswith("clearly better.")
    unsure = lift_rows({("all", False): ArmSummary(50, 0.21, 0.2), ("all", True): ArmSummary(5, 0.20, 0.2)}, ())
    assert (holdback_sentence(unsure[0]) or "").endswith("not clearly different yet: the interval includes 0.")
    none_yet = lift_rows({("all", False): ArmSummary(50, 0.21, 0.2)}, ())
    assert holdback_sentence(none_yet[0]) is None


def test_engagement_compares_the_week_whose_counts_are_in_with_the_week_before():
    from shared.presentation.data import EngagementDay
    from shared.presentation.page import engagement_sentence
    from shared.presentation.view import engagement_views

    today = date(2026, 3, 30)

    def day(ago: int, posts: int, likes: int, comments: int) -> EngagementDay:
        return EngagementDay("linkedin", today - timedelta(days=ago), posts, {"likes": likes, "comments": comments})

    # 7–13 days ago: 4 posts, 100 interactions; 14–20 days ago: 5 posts, 100; the last week's left out.
    days = [day(2, 3, 900, 0), day(8, 2, 40, 10), day(12, 2, 40, 10), day(15, 5, 80, 20), day(30, 1, 7, 0)]
    (view,) = engagement_views(days, weekly=False, today=today)
    assert (view.recent_posts, view.recent["likes"], view.previous_posts, view.previous["comments"]) == (4, 80, 5, 20)
    assert [p.value for p in view.per_post] == [7.0, 20.0, 25.0, 25.0, 300.0]
    assert engagement_sentence(view) == (
        "On linkedin, the 4 posts of 7–13 days ago drew 25 interactions each (likes 20, comments 5),"
        " 25% more than the 5 posts of the week before (20 each)."
    )


def test_better_than_before_compares_the_first_and_last_two_weeks_weighted_by_posts():
    from shared.presentation.page import then_and_now_sentence
    from shared.presentation.view import then_and_now

    start = date(2026, 3, 2)

    def day(offset: int, posts: int, mean: float, platform: str = "x") -> RewardDay:
        return RewardDay(platform, "morning", start + timedelta(days=offset), posts, mean, 0.0)

    assert then_and_now([day(0, 3, 0.1), day(26, 3, 0.5)]) is None  # 27 days: the ends would overlap
    rows = [day(0, 3, 0.4), day(13, 1, 0.0, "linkedin"), day(14, 9, 0.9), day(30, 2, 0.5), day(27, 2, 0.4)]
    t = then_and_now(rows)
    assert t is not None and (t.first_posts, t.last_posts) == (4, 4)
    assert [t.first_mean, t.last_mean] == pytest.approx([0.3, 0.45])
    assert "earned 0.450 on average (4 posts), against 0.300 in the first 14 days (4 posts): about 50% more" in (
        then_and_now_sentence(t)
    )
