"""Reading the text model's answers: the prompt pair (JSON) and the caption. Pure."""

from __future__ import annotations

import re
import uuid

import numpy as np
import pytest

from shared.core.action_space import ActionSpace
from shared.core.profile import Profile
from shared.core.prompts import CAPTION_PLACEHOLDER, build_prompts, clean_caption, parse_prompt_pair

SPACE = ActionSpace.load()


def test_a_json_answer_becomes_the_two_prompts():
    pair = parse_prompt_pair('{"caption_prompt": " Write it. ", "image_prompt": "A photo; caption {{CAPTION}}"}')
    assert pair.caption_prompt == "Write it."
    assert pair.image_prompt == "A photo; caption {{CAPTION}}"


def test_a_json_code_fence_around_the_answer_is_accepted():
    pair = parse_prompt_pair('```json\n{"caption_prompt": "c", "image_prompt": "i {{CAPTION}}"}\n```')
    assert (pair.caption_prompt, pair.image_prompt) == ("c", "i {{CAPTION}}")


def test_an_image_prompt_without_the_placeholder_gets_it_appended():
    pair = parse_prompt_pair('{"caption_prompt": "c", "image_prompt": "a bright cafe"}')
    assert pair.image_prompt == f"a bright cafe\nCaption: {CAPTION_PLACEHOLDER}"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("Sure! Here you go", "not JSON"),
        ('["caption_prompt", "image_prompt"]', "not a JSON object"),
        ('{"caption_prompt": "c"}', "image_prompt missing"),
        ('{"caption_prompt": "", "image_prompt": "i"}', "caption_prompt missing"),
        ('{"caption_prompt": 3, "image_prompt": "i"}', "caption_prompt missing"),
        ('{"caption_prompt": "c", "image_prompt": "' + "i" * 4001 + '"}', "image_prompt longer"),
    ],
)
def test_unusable_answers_are_rejected_with_the_reason(answer, message):
    with pytest.raises(ValueError, match=message):
        parse_prompt_pair(answer)


@pytest.mark.parametrize(
    ("raw", "caption"),
    [
        ('"Fresh bread, fresh start."', "Fresh bread, fresh start."),
        ("“Curly quotes too.”", "Curly quotes too."),
        ("  plain  ", "plain"),
        ('"only one quote', '"only one quote'),
    ],
)
def test_a_caption_loses_its_wrapping_quotes(raw, caption):
    assert clean_caption(raw) == caption


def test_a_caption_is_bounded_to_the_longest_platform_limit():
    assert len(clean_caption("a" * 5000)) == 2200


@pytest.mark.parametrize("hook", SPACE.dimension("HOOK_TYPE").values)
def test_prompts_never_print_vectors_even_when_the_profile_has_an_embedding(hook):
    profile = Profile(
        business_id=uuid.UUID(int=3),
        name="Vector Co",
        embedding=np.random.default_rng(0).normal(size=384),
        description="We sell things",
    )
    action = {d.name: d.values[0] for d in SPACE.dimensions} | {"HOOK_TYPE": hook}
    prompts = build_prompts(profile, "x", "our topic", SPACE, action)
    for text in (prompts.generator_prompt, prompts.caption_prompt, prompts.image_prompt):
        assert not re.search(r"-?\d+\.\d{3,}", text), text  # no printed floats
        assert "[" not in text and "array(" not in text


def test_the_trend_prompt_asks_grok_for_one_current_brand_safe_trend_as_json():
    profile = Profile(business_id=uuid.UUID(int=4), name="Rosa's Bakery", industries=("Food & Beverage",))
    action = {d.name: d.values[0] for d in SPACE.dimensions} | {"HOOK_TYPE": "trendy_topic"}
    generator = build_prompts(profile, "instagram", "new sourdough", SPACE, action).generator_prompt
    assert "one current, brand-safe trend" in generator
    assert "Trend style: Relatable Internet Humour" in generator
    assert '"caption_prompt"' in generator and '"image_prompt"' in generator and CAPTION_PLACEHOLDER in generator
    assert "Topic: new sourdough" in generator and "Rosa's Bakery" in generator
