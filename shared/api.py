"""Request bodies of the POST functions and their answers: strict, no extra fields, finite floats."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.core.context import EMBEDDING_DIM, Platform, TimeBucket
from shared.core.profile import Profile
from shared.core.variety import DEFAULT_MAX_REPEATS, DEFAULT_WINDOW, VarietyCap

FiniteFloat = Annotated[float, Field(allow_inf_nan=False, ge=-1e6, le=1e6)]
Embedding = Annotated[list[FiniteFloat], Field(min_length=EMBEDDING_DIM, max_length=EMBEDDING_DIM)]
Count = Annotated[int, Field(ge=0, le=10**12)]
Key = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]
# Postgres text cannot hold NUL: refused here (400), not by the database (which would be a 500).
NO_NUL = r"^[^\x00]*$"


def _no_float(value: object) -> object:
    """A Literal of ints matches 24.0 by equality; counts refuse floats, so slots do too."""
    if isinstance(value, float):
        raise ValueError("Input should be a valid integer")
    return value


Slot = Annotated[Literal[6, 24, 48, 72, 168], BeforeValidator(_no_float)]

# Timestamps far from now overflow date arithmetic (year 1 minus an offset, year 9999 plus 24 h).
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"must be from {EARLIEST.year} to {LATEST.year - 1}")
    return value


Timestamp = Annotated[AwareDatetime, AfterValidator(_in_range)]


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class GeneratePostRequest(Body):
    business_id: UUID
    request_id: Key  # the caller's idempotency key: the same key is the same post
    platform: Platform
    topic: Annotated[str, Field(min_length=1, max_length=2000, pattern=NO_NUL)]
    topic_embedding: Embedding | None = None
    scheduled_for: Timestamp | None = None
    auto_publish: bool = False


Caption = Annotated[str, Field(min_length=1, max_length=5000, pattern=NO_NUL)]
ProfileText = Annotated[str, Field(max_length=2000, pattern=NO_NUL)]
Words = Annotated[list[Annotated[str, Field(min_length=1, max_length=100, pattern=NO_NUL)]], Field(max_length=20)]
# Derived business ids: the same owner and name name the same business (a retried create is one).
PROFILE_NAMESPACE = UUID("0b6f7a52-8a39-4f38-9b0e-2a7d9c51e0aa")


def _time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError("not an IANA time zone, e.g. Europe/Berlin") from exc
    return name


def _owned_name(owner_id: UUID | None, name: str) -> str:
    # Without an owner (the command line), the name alone, as profiles saved before owners were.
    return name if owner_id is None else f"{owner_id}/{name}"


class ProfileRequest(Body):
    """A business profile (save_profile, the command line's --profile). Without
    ``business_id`` one is derived from the owner and the name, so a retry saves the same
    business; without ``embedding`` the profile's text is embedded (docs/embeddings.md)."""

    business_id: UUID | None = None
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
    business_types: Words = []
    industries: Words = []
    description: ProfileText = ""
    brand_voice: ProfileText = ""
    brand_tone: ProfileText = ""
    audience: ProfileText = ""
    colours: Words = []
    time_zone: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_time_zone)] = "UTC"
    embedding: Embedding | None = None
    follower_counts: dict[Platform, Count] = {}
    require_approval: bool = False  # drafts are published only once a person approved them (docs/review.md)
    # At most variety_max_repeats posts alike in any variety_window consecutive posts of a
    # platform; 0 turns the cap off (docs/variety.md).
    variety_window: Annotated[int, Field(ge=0, le=100)] = DEFAULT_WINDOW
    variety_max_repeats: Annotated[int, Field(ge=1, le=99, validate_default=True)] = DEFAULT_MAX_REPEATS
    owner_id: UUID | None = None  # services only: a signed-in user owns what they save

    @field_validator("variety_max_repeats")
    @classmethod
    def _below_the_window(cls, repeats: int, info: ValidationInfo) -> int:
        window = info.data.get("variety_window")
        if window and repeats >= window:
            raise ValueError("must be below variety_window (or the window 0, no cap)")
        return repeats

    def to_profile(self, owner_id: UUID | None) -> Profile:
        """The profile as stored, owned by ``owner_id``."""
        return Profile(
            business_id=self.business_id or uuid5(PROFILE_NAMESPACE, _owned_name(owner_id, self.name)),
            name=self.name,
            business_types=tuple(self.business_types),
            industries=tuple(self.industries),
            description=self.description,
            brand_voice=self.brand_voice,
            brand_tone=self.brand_tone,
            audience=self.audience,
            colours=tuple(self.colours),
            time_zone=self.time_zone,
            embedding=None if self.embedding is None else np.asarray(self.embedding, dtype=np.float64),
            follower_counts={str(p): n for p, n in self.follower_counts.items()},
            owner_id=owner_id,
            require_approval=self.require_approval,
            variety=VarietyCap(self.variety_window, self.variety_max_repeats),
        )


class ReviewPostRequest(Body):
    """A person's review of a draft (docs/review.md): approve it, reject it (final), or
    replace its caption (``caption``, only with ``edit``)."""

    post_id: UUID
    action: Literal["approve", "reject", "edit"]
    caption: Annotated[Caption | None, Field(validate_default=True)] = None

    @field_validator("caption")
    @classmethod
    def _caption_with_edit(cls, caption: str | None, info: ValidationInfo) -> str | None:
        action = info.data.get("action")
        if action is not None and (action == "edit") != (caption is not None):
            raise ValueError("give a caption with action 'edit', and only then")
        return caption


Cursor = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[0-9A-Za-z:.+\-|]+$")]


class ReadBusinessRequest(Body):
    """What a business has (docs/read-api.md): its posts, newest first, each with its decision,
    latest snapshot and reward (``view`` posts, pages of ``limit`` after ``cursor``, of one
    ``platform`` if given); when to post on a platform (``view`` best_times, with ``platform``);
    or what the policy would choose for it now (``view`` preferences, of one ``platform`` if given)."""

    business_id: UUID
    view: Literal["posts", "best_times", "preferences"]
    platform: Annotated[Platform | None, Field(validate_default=True)] = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: Cursor | None = None

    @field_validator("platform")
    @classmethod
    def _platform_with_best_times(cls, platform: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("view") == "best_times" and platform is None:
            raise ValueError("give the platform whose best times to read")
        return platform


class PublishedEvent(Body):
    type: Literal["published"]
    post_id: UUID
    media_id: Annotated[str, Field(min_length=1, max_length=256, pattern=NO_NUL)]
    posted_at: Timestamp


class MetricsEvent(Body):
    type: Literal["metrics"]
    post_id: UUID
    observed_at: Timestamp
    timeslot_hours: Slot | None = None
    likes: Count = 0
    comments: Count = 0
    shares: Count = 0
    saves: Count = 0
    replies: Count = 0
    reposts: Count = 0
    reactions: Count = 0
    impressions: Count | None = None
    reach: Count | None = None
    follower_count: Count | None = None


class DeletedEvent(Body):
    type: Literal["deleted"]
    post_id: UUID
    deleted_at: Timestamp


class WebhookRecord(BaseModel):
    """The inserted row as Supabase sends it; only its ids are read (the row is re-read)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    snapshot_id: Annotated[int, Field(ge=1, le=2**63 - 1)]  # a bigint
    post_id: UUID


class SnapshotInserted(Body):
    """A Supabase Database Webhook payload for an INSERT on public.snapshots."""

    type: Literal["INSERT"]
    table: Literal["snapshots"]
    schema_: Literal["public"] = Field(alias="schema")
    record: WebhookRecord
    old_record: None = None


SnapshotEvent = Annotated[PublishedEvent | MetricsEvent | DeletedEvent | SnapshotInserted, Field(discriminator="type")]
RecordSnapshotRequest: TypeAdapter[PublishedEvent | MetricsEvent | DeletedEvent | SnapshotInserted] = TypeAdapter(
    SnapshotEvent
)


class ComputeRewardRequest(Body):
    """Either one post (a Cloud Task, a caller) or a sweep of every due reward (Scheduler)."""

    post_id: UUID | None = None
    sweep: bool = False
    limit: Annotated[int, Field(ge=1, le=100_000)] = 10_000

    @model_validator(mode="after")
    def _one_of(self) -> ComputeRewardRequest:
        if (self.post_id is not None) != self.sweep:
            return self
        raise ValueError("give either post_id or sweep: true, not both")


class UpdatePolicyRequest(Body):
    post_id: UUID


# -- Response bodies: what the functions answer (docs and openapi.yaml; the fuzz tests check them) --


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldError(Answer):
    path: str  # a path into the body as sent, e.g. ``topic_embedding.3``; or a header name
    message: str


class ErrorDetail(Answer):
    code: str
    message: str
    fields: list[FieldError] | None = None


class ErrorResponse(Answer):
    error: ErrorDetail


class ValueExplanation(Answer):
    """Why one value had its probability: score = h + theta_x; π = (1 − ε) π⁰ + ε / n
    (one-hot in the holdback arm). Gradient: π⁰ = softmax(scores / τ). Bandit: score is the
    predicted reward of the greedy recipe with this value, π⁰ its inverse gap weights."""

    # gradient: the preference H[platform, time bucket, dimension, value]; bandit: the rest of the recipe's part
    h: float
    # gradient: θ[dimension, value] · x; bandit: the value's own term (context and business)
    theta_x: float
    score: float
    pi0: float
    pi: float


class GeneratePostResponse(Answer):
    post_id: UUID
    decision_id: UUID
    created: bool  # False: the request_id was seen before and this is the stored post
    status: Literal["generated", "posted", "deleted"]
    platform: Platform
    scheduled_for: datetime
    # 'given' by the caller; 'now' (auto_publish); 'best_time': a draft left unscheduled goes out
    # at the business's best time (docs/best-time.md)
    scheduled_by: Literal["given", "now", "best_time"]
    time_bucket: TimeBucket
    day_of_week: Annotated[int, Field(ge=0, le=6)]
    action: dict[str, str]  # dimension → chosen value
    probabilities: dict[str, dict[str, float]]  # dimension → value → π (with the ε floor)
    propensities: dict[str, float]  # dimension → π(chosen)
    joint_propensity: Annotated[float, Field(gt=0, le=1)]
    policy_version: Annotated[int, Field(ge=0)]
    context_fallback: bool
    seed: Annotated[int, Field(ge=0)]
    learner: Literal["bandit", "gradient"]  # which learner chose (docs/learning.md)
    tau: float | None  # the softmax temperature of this decision (null: the bandit has none)
    epsilon: float  # the exploration floor this decision used (after the ε schedule)
    holdback: bool  # True: the fixed baseline action (π one-hot), not the policy's draw
    # dimension → value → the parts of its score and its probabilities; null for
    # decisions logged before explanations were stored.
    explanation: dict[str, dict[str, ValueExplanation]] | None
    mode: Literal["standard", "trend"]
    caption_prompt: str
    image_prompt: str
    caption: str | None
    generator_prompt: str | None
    content_status: Literal["pending", "done", "failed"]
    content_source: str | None
    image_url: str | None


class RecordSnapshotResponse(Answer):
    post_id: UUID
    kind: Literal["published", "metrics", "deleted", "inserted"]
    changed: bool  # False: a redelivery, nothing new
    late: bool  # a snapshot after the reward was final: kept, never counted
    reward: Literal["computed", "missing", "waiting", "not_due", "final"] | None


class RewardOutcome(Answer):
    post_id: UUID
    outcome: Literal["computed", "missing", "waiting", "not_due", "final"]
    value: Annotated[float, Field(ge=-1, le=1)] | None


class SweepReport(Answer):
    duplicate: bool  # this Cloud Scheduler run (job, schedule time) finished before
    snapshots: Annotated[int, Field(ge=0)]
    examined: Annotated[int, Field(ge=0)]
    computed: Annotated[int, Field(ge=0)]
    missing: Annotated[int, Field(ge=0)]
    waiting: Annotated[int, Field(ge=0)]
    redispatched: Annotated[int, Field(ge=0)]
    # The context normaliser this run fitted and activated (the first, once enough decisions exist).
    normaliser: Annotated[str, Field(pattern=r"^n1-[0-9a-f]{12}$")] | None = None
    # The policy version whose off-policy evaluation this run stored for the dashboard (docs/dashboard.md).
    evaluated: Annotated[int, Field(ge=0)] | None = None


ComputeRewardResponse = RewardOutcome | SweepReport


class UpdatePolicyResponse(Answer):
    post_id: UUID
    applied: bool
    version: Annotated[int, Field(ge=0)]
    advantage: float | None
    # applied now; already_applied (by an earlier delivery, at ``version``); holdback (never
    # learned from); missing (no snapshot in time and no default reward: nothing to learn).
    reason: Literal["applied", "already_applied", "holdback", "missing"]
    message: str  # the reason in a sentence, with the version: "already applied at version 12"


class ReviewPostResponse(Answer):
    post_id: UUID
    review: Literal["none", "approved", "rejected"]
    caption: str | None  # as generated
    edited_caption: str | None  # a person's, beside it; the one that goes out
    changed: bool  # False: the same review again (nothing changed)
    message: str


class ProfileResponse(Answer):
    business_id: UUID
    name: str
    owner_id: UUID | None
    time_zone: str
    require_approval: bool
    created: bool  # False: the business existed and was updated
    embedded: bool  # True: the embedding was computed from the profile's text here
    message: str


class SnapshotView(Answer):
    observed_at: datetime
    likes: int
    comments: int
    shares: int
    saves: int
    replies: int
    reposts: int
    reactions: int
    impressions: int | None
    reach: int | None
    follower_count: int | None


class RewardView(Answer):
    status: Literal["pending", "computed", "missing"]
    value: float | None
    computed_at: datetime | None


class PostView(Answer):
    post_id: UUID
    platform: Platform
    topic: str
    status: Literal["generated", "posted", "deleted"]
    created_at: datetime
    scheduled_for: datetime
    scheduled_by: Literal["given", "now", "best_time"]
    posted_at: datetime | None
    deleted_at: datetime | None
    review: Literal["none", "approved", "rejected"]
    caption: str | None
    edited_caption: str | None
    image_url: str | None
    content_status: Literal["pending", "done", "failed"]
    action: dict[str, str]
    joint_propensity: float
    policy_version: int
    learner: Literal["bandit", "gradient"]
    holdback: bool
    edited: bool
    time_bucket: TimeBucket
    snapshots: int  # how many were recorded
    latest_snapshot: SnapshotView | None
    reward: RewardView | None  # None until the post is published


class SlotView(Answer):
    time_bucket: TimeBucket
    day_of_week: int | None  # 0 Monday … 6 Sunday; None: any day
    expected: float
    low: float
    high: float
    posts: int


class BestTimesView(Answer):
    platform: Platform
    time_zone: str
    slots: list[SlotView]
    best: SlotView
    next_time: datetime


class ValueChanceView(Answer):
    value: str
    label: str
    probability: float  # π of this value in the next decision of this cell


class DimensionPreferenceView(Answer):
    dimension: str
    most_likely: str  # the value with the highest probability
    values: list[ValueChanceView]


class CellPreferencesView(Answer):
    platform: Platform
    time_bucket: TimeBucket
    dimensions: list[DimensionPreferenceView]


class WhatWorksView(Answer):
    """Among the business's own rewarded posts of the last 90 days on ``platform``, the value of
    ``dimension`` that earned most against their average: ``lift`` with its 95% interval."""

    platform: Platform
    dimension: str
    value: str
    label: str
    posts: int
    platform_posts: int
    lift: float
    low: float
    high: float
    sure: bool  # the interval stays on one side of 0


class PreferencesView(Answer):
    policy_version: int
    context: Literal["recent_posts", "profile", "none"]
    context_posts: int  # the latest decisions whose mean context the probabilities are at
    cells: list[CellPreferencesView]
    what_works: list[WhatWorksView]


class ReadBusinessResponse(Answer):
    business_id: UUID
    view: Literal["posts", "best_times", "preferences"]
    posts: list[PostView] | None = None
    next_cursor: str | None = None  # the next page's cursor; None: no more
    best_times: BestTimesView | None = None
    preferences: PreferencesView | None = None
