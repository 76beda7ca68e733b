"""Prompts (docs/spec.md §8): standard and trend modes, the caption placeholder, the offline caption."""

from __future__ import annotations

import uuid

import pytest

from shared.core.action_space import ActionSpace
from shared.core.profile import Profile
from shared.core.prompts import (
    CAPTION_PLACEHOLDER,
    brief,
    build_prompts,
    classify_trend_style,
    fill_caption,
    offline_caption,
)

SPACE = ActionSpace.load()
PROFILE = Profile(
    business_id=uuid.UUID(int=1),
    name="Acme Analytics",
    business_types=("Technology", "B2B"),
    industries=("Software",),
    description="Dashboards for small teams",
    brand_voice="Confident",
    brand_tone="Warm",
    audience="Operations leads",
    colours=("navy", "teal"),
)
HOOKS = SPACE.dimension("HOOK_TYPE").values


def action(hook: str = "question") -> dict[str, str]:
    a = {d.name: d.values[0] for d in SPACE.dimensions}
    a["HOOK_TYPE"] = hook
    return a


def test_the_trendy_topic_hook_switches_to_trend_mode():
    prompts = build_prompts(PROFILE, "linkedin", "data privacy", SPACE, action("trendy_topic"))
    assert prompts.mode == "trend"
    assert "trend" in prompts.generator_prompt.lower()
    assert "Trend style: Educational Authority" in prompts.generator_prompt


@pytest.mark.parametrize("hook", [h for h in HOOKS if h != "trendy_topic"])
def test_every_other_hook_uses_the_standard_mode(hook):
    prompts = build_prompts(PROFILE, "instagram", "data privacy", SPACE, action(hook))
    assert prompts.mode == "standard"
    assert "Trend style" not in prompts.generator_prompt
    for text in ("Acme Analytics", "Dashboards for small teams", "Confident", "Warm", "Operations leads", "navy, teal"):
        assert text in prompts.generator_prompt
    assert "caption_prompt" in prompts.generator_prompt and "image_prompt" in prompts.generator_prompt


@pytest.mark.parametrize(
    ("business_types", "industries", "style"),
    [
        (("Technology", "B2B"), (), "Educational Authority"),
        (("B2B",), ("Software",), "Educational Authority"),
        (("Technology/IT", "B2B"), (), "Educational Authority"),
        (("B2B", "SaaS"), (), "Educational Authority"),
        (("Consulting", "B2B"), ("Managed IT",), "Educational Authority"),
        (("Restaurant",), ("Food & Beverage",), "Relatable Internet Humour"),
        (("Cafe",), (), "Relatable Internet Humour"),
        ((), ("Finance",), "Premium Minimal"),
        (("Insurance broker",), (), "Premium Minimal"),
        (("Retail",), ("Fashion",), "Intelligent Topical"),
        (("Technology",), (), "Intelligent Topical"),  # B2B is part of the rule
        ((), (), "Intelligent Topical"),
    ],
)
def test_classify_trend_style_maps_the_profile_to_a_style(business_types, industries, style):
    assert classify_trend_style(business_types, industries) == style


def test_an_it_business_that_sells_b2b_is_an_educational_authority():
    # The spec's own example: Technology/IT + B2B. "IT" given as the first word must count.
    assert classify_trend_style(("IT", "B2B"), ()) == "Educational Authority"
    assert classify_trend_style(("IT Services",), ("B2B",)) == "Educational Authority"


def test_words_that_merely_start_with_it_do_not_count_as_it():
    # A B2B Italian food wholesaler is a food business, not a technology one.
    assert classify_trend_style(("B2B",), ("Italian food wholesale",)) == "Relatable Internet Humour"


@pytest.mark.parametrize("hook", HOOKS)
def test_the_image_prompt_refers_to_the_caption_by_the_placeholder(hook):
    prompts = build_prompts(PROFILE, "facebook", "spring sale", SPACE, action(hook))
    assert CAPTION_PLACEHOLDER == "{{CAPTION}}"
    assert CAPTION_PLACEHOLDER in prompts.image_prompt
    assert CAPTION_PLACEHOLDER in prompts.generator_prompt
    filled = fill_caption(prompts.image_prompt, "Big news today!")
    assert CAPTION_PLACEHOLDER not in filled
    assert "Big news today!" in filled
    assert filled == prompts.image_prompt.replace("{{CAPTION}}", "Big news today!")


def test_fill_caption_replaces_every_placeholder_and_nothing_else():
    assert fill_caption("A {{CAPTION}} and {{CAPTION}}.", "cat") == "A cat and cat."
    assert fill_caption("no placeholder {CAPTION}", "cat") == "no placeholder {CAPTION}"


def test_the_brief_describes_every_dimension_by_its_label():
    a = {
        "HOOK_TYPE": "relatable_pain",
        "LENGTH": "medium",
        "TONE": "humorous",
        "CREATIVITY": "experimental",
        "TEXT_IN_IMAGE": "no_text_in_image",
        "VISUAL_STYLE": "human_figure",
    }
    assert brief(SPACE, a) == (
        "hook type: Relatable pain point; length: Medium; tone: Humorous; creativity: Experimental; "
        "text in image: No text in image; visual style: Human figure"
    )
    prompts = build_prompts(PROFILE, "x", "t", SPACE, a)
    assert brief(SPACE, a) in prompts.caption_prompt and brief(SPACE, a) in prompts.image_prompt


def test_empty_profile_fields_get_neutral_placeholders():
    bare = Profile(business_id=uuid.UUID(int=2), name="Bare")
    prompts = build_prompts(bare, "x", "tea", SPACE, action())
    assert "Business: Bare (business; general)." in prompts.generator_prompt
    assert "About: -" in prompts.generator_prompt
    assert "{" not in prompts.generator_prompt.replace(CAPTION_PLACEHOLDER, "")


@pytest.mark.parametrize("hook", HOOKS)
def test_the_offline_caption_is_deterministic(hook):
    first = offline_caption(PROFILE, "data privacy", SPACE, action(hook))
    second = offline_caption(PROFILE, "data privacy", SPACE, dict(action(hook)))
    assert first == second
    assert "data privacy" in first
    assert first.endswith("Acme Analytics has you covered.")


def test_the_offline_caption_depends_on_the_hook_and_the_topic():
    captions = {offline_caption(PROFILE, "tea", SPACE, action(h)) for h in HOOKS}
    assert len(captions) == len(HOOKS)
    assert offline_caption(PROFILE, "tea", SPACE, action()) != offline_caption(PROFILE, "coffee", SPACE, action())


@pytest.mark.parametrize(
    ("platform", "opening"),
    [
        ("instagram", "Write an Instagram caption"),
        ("x", "Write an X caption"),
        ("linkedin", "Write a LinkedIn caption"),
        ("facebook", "Write a Facebook caption"),
    ],
)
def test_the_caption_prompt_names_the_platform_with_the_article_it_is_said_with(platform, opening):
    prompts = build_prompts(PROFILE, platform, "spring sale", SPACE, action())
    assert prompts.caption_prompt.startswith(opening + " for ")
    assert f"this {opening.split()[2]} post" in prompts.image_prompt
