"""Decision context (docs/spec.md §3): platform, local time bucket, day of week, and x ∈ R^768."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, get_args
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

Platform = Literal["instagram", "x", "linkedin", "facebook"]
PLATFORMS: Final[tuple[Platform, ...]] = get_args(Platform)
TimeBucket = Literal["morning", "afternoon", "evening", "night"]
TIME_BUCKETS: Final[tuple[TimeBucket, ...]] = get_args(TimeBucket)

EMBEDDING_DIM: Final = 384
CONTEXT_DIM: Final = 2 * EMBEDDING_DIM

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Context:
    platform: Platform
    time_bucket: TimeBucket
    day_of_week: int
    x: FloatArray  # shape (768,)
    fallback: bool  # True when a half of x had to be zeros


def time_bucket_of(hour: int) -> TimeBucket:
    """morning [05,12), afternoon [12,17), evening [17,21), night [21,05)."""
    if not 0 <= hour <= 23:
        raise ValueError(f"hour must be in 0..23, got {hour}")
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 17:
        return "afternoon"
    if 17 <= hour < 21:
        return "evening"
    return "night"


def local_time(scheduled_for: datetime, time_zone: str) -> datetime:
    if scheduled_for.tzinfo is None or scheduled_for.utcoffset() is None:
        raise ValueError("scheduled_for must be timezone-aware")
    return scheduled_for.astimezone(ZoneInfo(time_zone))


def unit(v: FloatArray) -> FloatArray:
    """v / ‖v‖, or zeros for a zero vector (never divides by 0)."""
    norm = float(np.linalg.norm(v))
    if not np.isfinite(norm):
        raise ValueError("embedding has non-finite values")
    return v / norm if norm > 0.0 else np.zeros_like(v)


def context_vector(business: FloatArray | None, topic: FloatArray | None) -> tuple[FloatArray, bool]:
    """x = concat(unit(business), unit(topic)), shape (768,).

    A missing half is zeros and flags the context as a fallback; it is never
    filled with random noise, which would make θ learn from nothing.
    """
    halves = []
    fallback = False
    for half in (business, topic):
        if half is None:
            halves.append(np.zeros(EMBEDDING_DIM))
            fallback = True
            continue
        arr = np.asarray(half, dtype=np.float64)
        if arr.shape != (EMBEDDING_DIM,):
            raise ValueError(f"embedding must have shape ({EMBEDDING_DIM},), got {arr.shape}")
        if not np.any(arr):
            fallback = True
        halves.append(unit(arr))
    return np.concatenate(halves), fallback


def build_context(
    platform: Platform,
    scheduled_for: datetime,
    time_zone: str,
    business_embedding: FloatArray | None,
    topic_embedding: FloatArray | None,
) -> Context:
    local = local_time(scheduled_for, time_zone)
    x, fallback = context_vector(business_embedding, topic_embedding)
    return Context(
        platform=platform,
        time_bucket=time_bucket_of(local.hour),
        day_of_week=local.weekday(),
        x=x,
        fallback=fallback,
    )
