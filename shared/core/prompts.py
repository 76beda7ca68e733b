"""Prompts (docs/spec.md §8): the standard template, the trend mode, and the offline
caption that keeps the loop running without LLM keys. Pure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from shared.core.action_space import ActionSpace
from shared.core.profile import Profile

CAPTION_PLACEHOLDER = "{{CAPTION}}"
TREND_HOOK = "trendy_topic"

_STANDARD_TEMPLATE = """You write prompts for a social media post.
Business: {name} ({types}; {industries}).
About: {description}
Brand voice: {voice}. Brand tone: {tone}. Audience: {audience}. Colours: {colours}.
Platform: {platform}. Topic: {topic}.
Creative brief: {brief}.
Return JSON with two keys: "caption_prompt" (a prompt that makes the caption)
and "image_prompt" (a prompt for the image; refer to the caption as {placeholder})."""

_TREND_TEMPLATE = """Find one current, brand-safe trend that fits this business and topic.
Brand-safe: no tragedies, politics, religion, health scares or anything mocking a person or group.
Business: {name} ({types}; {industries}). Audience: {audience}.
Brand voice: {voice}. Brand tone: {tone}. Colours: {colours}.
Trend style: {style}. Platform: {platform}. Topic: {topic}.
Creative brief: {brief}.
Return JSON with two keys: "caption_prompt" (a caption prompt that rides the trend)
and "image_prompt" (an image prompt; refer to the caption as {placeholder})."""

# What the text model is told around the templates above (system messages).
GENERATOR_SYSTEM = (
    "You design prompts for social media content. Answer with one JSON object with the string keys"
    ' "caption_prompt" and "image_prompt", and nothing else.'
)
CAPTION_SYSTEM = "You write social media captions. Answer with the caption only: no quotes, no preamble, no notes."
MAX_PROMPT_CHARS = 4000


@dataclass(frozen=True)
class PromptPair:
    """What the text model returns for a generator prompt."""

    caption_prompt: str
    image_prompt: str


@dataclass(frozen=True)
class Prompts:
    mode: str  # "standard" or "trend"
    generator_prompt: str  # what an LLM would be asked
    caption_prompt: str
    image_prompt: str


def classify_trend_style(business_types: tuple[str, ...], industries: tuple[str, ...]) -> str:
    """Map a profile to the style its trend posts should take."""
    words = set(re.findall(r"[a-z0-9]+", " ".join(business_types + industries).lower()))
    if words & {"technology", "tech", "software", "it", "saas"} and "b2b" in words:
        return "Educational Authority"
    if words & {"food", "beverage", "beverages", "restaurant", "cafe", "bakery"}:
        return "Relatable Internet Humour"
    if words & {"finance", "financial", "bank", "banking", "insurance", "investment", "investing"}:
        return "Premium Minimal"
    return "Intelligent Topical"


def brief(space: ActionSpace, action: dict[str, str]) -> str:
    """The action in words, e.g. 'hook type: Question; length: Short; …'."""
    return "; ".join(f"{d.name.lower().replace('_', ' ')}: {d.label(action[d.name])}" for d in space.dimensions)


def build_prompts(profile: Profile, platform: str, topic: str, space: ActionSpace, action: dict[str, str]) -> Prompts:
    fields = {
        "name": profile.name,
        "types": ", ".join(profile.business_types) or "business",
        "industries": ", ".join(profile.industries) or "general",
        "description": profile.description or "-",
        "voice": profile.brand_voice or "-",
        "tone": profile.brand_tone or "-",
        "audience": profile.audience or "-",
        "colours": ", ".join(profile.colours) or "-",
        "platform": platform,
        "topic": topic,
        "brief": brief(space, action),
        "placeholder": CAPTION_PLACEHOLDER,
    }
    trend = action.get("HOOK_TYPE") == TREND_HOOK
    if trend:
        style = classify_trend_style(profile.business_types, profile.industries)
        generator = _TREND_TEMPLATE.format(style=style, **fields)
    else:
        generator = _STANDARD_TEMPLATE.format(**fields)
    caption_prompt = (
        f"Write {with_article(platform_name(platform))} caption for {profile.name} about {topic}. {fields['brief']}."
        f" Voice: {fields['voice']}. Audience: {fields['audience']}."
    )
    image_prompt = (
        f"An image for this {platform_name(platform)} post. Its caption: {CAPTION_PLACEHOLDER}\n"
        f"Creative brief: {fields['brief']}. Brand colours: {fields['colours']}."
    )
    return Prompts(
        mode="trend" if trend else "standard",
        generator_prompt=generator,
        caption_prompt=caption_prompt,
        image_prompt=image_prompt,
    )


# How each platform is written in prose, and its article (by sound: "an X caption", "an Instagram post").
_PLATFORM_NAMES = {
    "instagram": ("Instagram", "an"),
    "x": ("X", "an"),
    "linkedin": ("LinkedIn", "a"),
    "facebook": ("Facebook", "a"),
}


def platform_name(platform: str) -> str:
    """The platform as written in prose ("LinkedIn" for "linkedin"); unknown ids as given."""
    return _PLATFORM_NAMES.get(platform, (platform, "a"))[0]


def with_article(name: str) -> str:
    """``name`` with its indefinite article, chosen by sound for the platforms, else by spelling."""
    for known, article in _PLATFORM_NAMES.values():
        if known == name:
            return f"{article} {name}"
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def offline_caption(profile: Profile, topic: str, space: ActionSpace, action: dict[str, str]) -> str:
    """A deterministic template caption, used when no LLM key is configured."""
    hook = space.dimension("HOOK_TYPE").label(action["HOOK_TYPE"]) if "HOOK_TYPE" in action else ""
    openers = {
        "question": f"What if {topic} could be simpler?",
        "bold_claim": f"{topic} is changing everything.",
        "relatable_pain": f"Tired of struggling with {topic}?",
        "trendy_topic": f"Everyone is talking about {topic}.",
        "curiosity_gap": f"The one thing nobody tells you about {topic}.",
    }
    opener = openers.get(action.get("HOOK_TYPE", ""), f"{hook}: {topic}.")
    return f"{opener} {profile.name} has you covered."


def fill_caption(image_prompt: str, caption: str) -> str:
    return image_prompt.replace(CAPTION_PLACEHOLDER, caption)


_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def parse_prompt_pair(text: str) -> PromptPair:
    """The model's JSON answer as a PromptPair; ValueError names what is wrong.

    Models often wrap JSON in a ``json`` code fence; that is accepted. An image
    prompt without the ``{{CAPTION}}`` placeholder gets it appended, so the
    image always follows the caption that is actually posted.
    """
    raw = text.strip()
    fenced = _FENCE.match(raw)
    if fenced:
        raw = fenced.group(1)
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    fields = {}
    for key in ("caption_prompt", "image_prompt"):
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{key} missing or not a non-empty string")
        if len(value) > MAX_PROMPT_CHARS:
            raise ValueError(f"{key} longer than {MAX_PROMPT_CHARS} characters")
        fields[key] = value.strip()
    image_prompt = fields["image_prompt"]
    if CAPTION_PLACEHOLDER not in image_prompt:
        image_prompt = f"{image_prompt}\nCaption: {CAPTION_PLACEHOLDER}"
    return PromptPair(caption_prompt=fields["caption_prompt"], image_prompt=image_prompt)


def clean_caption(text: str, limit: int = 2200) -> str:
    """A model's caption without wrapping quotes, bounded (2,200 is Instagram's limit, the longest)."""
    caption = text.strip()
    if len(caption) >= 2 and (caption[0], caption[-1]) in {('"', '"'), ("'", "'"), ("“", "”")}:
        caption = caption[1:-1].strip()
    return caption[:limit]
