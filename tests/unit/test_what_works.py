"""What works (shared/core/what_works.py): the best-earning value per platform and dimension,
its lift over the platform's average, its evidence and a 95% interval, hand-computed."""

from __future__ import annotations

import math

import pytest

from shared.core.what_works import MIN_POSTS, ValueStat, findings


def stat(platform: str, dimension: str, value: str, rewards: list[float]) -> ValueStat:
    return ValueStat(platform, dimension, value, len(rewards), sum(rewards), sum(r * r for r in rewards))


def test_the_best_value_is_named_with_its_lift_evidence_and_interval():
    question = [0.6, 0.8, 0.7, 0.9, 0.5, 0.7]  # mean 0.7
    bold = [0.2, 0.4, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]  # mean 0.3
    stats = [
        stat("linkedin", "HOOK_TYPE", "bold_claim", bold),
        stat("linkedin", "HOOK_TYPE", "question", question),
        stat("linkedin", "LENGTH", "short", question + bold),
    ]
    hook, length = findings(stats)
    mean = (sum(question) + sum(bold)) / 14
    assert (hook.value, hook.posts, hook.platform_posts) == ("question", 6, 14)
    assert hook.lift == pytest.approx(0.7 - mean)
    sd = math.sqrt(sum((r - 0.7) ** 2 for r in question) / 5)
    half = 1.959963984540054 * sd / math.sqrt(6)
    assert (hook.low, hook.high) == pytest.approx((0.7 - mean - half, 0.7 - mean + half))
    assert hook.sure
    # One value for every post: no lift, and not sure of any.
    assert length.value == "short" and length.lift == pytest.approx(0.0) and not length.sure


def test_values_with_too_few_posts_are_not_named():
    few = [0.9] * (MIN_POSTS - 1)
    stats = [stat("x", "TONE", "witty", few), stat("x", "TONE", "calm", [0.1] * 10)]
    (only,) = findings(stats)
    assert only.value == "calm"
    assert findings([stat("x", "TONE", "witty", few)]) == []
