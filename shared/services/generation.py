"""The work behind generate_post (create_post): choose the parameters, write the prompts, log the decision."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from uuid import UUID

import numpy as np

from shared.content_writer import ContentWriter
from shared.core.action_space import ActionSpace
from shared.core.bandit import DEFAULT_RANK, RidgeIGW, bandit_params
from shared.core.context import FloatArray, Platform, build_context
from shared.core.embedding import EmbedderSource
from shared.core.policy import Drawn, PolicyParams, baseline_action, epsilon_at, in_holdback, seed_from_id, select
from shared.core.prompts import build_prompts, fill_caption, offline_caption
from shared.core.rate_limits import NO_LIMITS, RateLimits, retry_after, window_start
from shared.core.reward import RewardConfig
from shared.core.tasks import Task
from shared.core.variety import recipes_to_avoid
from shared.errors import Conflict, NotFound, PermanentError, RateLimited
from shared.faults import fault_point
from shared.logs import log
from shared.services.best_time import best_times_from
from shared.services.content import complete_content
from shared.services.publishing import CLOCK_SKEW, publish
from shared.store import normalisers as normaliser_store
from shared.store import posts as post_store
from shared.store.db import Database
from shared.store.decision_inputs import load_decision_inputs

# Ids are derived from the caller's idempotency key, so a redelivered request
# names the same post and decision (and the same seed) as the first delivery.
_NAMESPACE = UUID("5b0f6c1e-3f7a-4c55-9d0e-8a4b2f1d6c31")


@dataclass(frozen=True)
class GenerateCommand:
    business_id: UUID
    request_id: str
    platform: Platform
    topic: str
    topic_embedding: FloatArray | None
    scheduled_for: datetime | None
    auto_publish: bool


@dataclass(frozen=True)
class GeneratedPost:
    post_id: UUID
    decision: post_store.DecisionRow
    post: post_store.PostRow
    created: bool
    tasks: tuple[Task, ...]


def post_id_for(business_id: UUID, request_id: str) -> UUID:
    return uuid.uuid5(_NAMESPACE, f"post/{business_id}/{request_id}")


def decision_id_for(post_id: UUID) -> UUID:
    return uuid.uuid5(_NAMESPACE, f"decision/{post_id}")


def _stored(db: Database, post_id: UUID) -> GeneratedPost:
    with db.transaction() as conn:
        post = post_store.get_post(conn, post_id)
        decision = post_store.get_decision(conn, post_id)
    assert post is not None and decision is not None
    return GeneratedPost(post_id=post_id, decision=decision, post=post, created=False, tasks=())


def _same_request(post: post_store.PostRow, cmd: GenerateCommand) -> None:
    """A redelivery repeats its request; a request_id reused for another post is refused (409),
    not answered with the first post as if it were this one."""
    differs = [
        name
        for name, same in (
            ("platform", post.platform == cmd.platform),
            ("topic", post.topic == cmd.topic),
            ("scheduled_for", cmd.scheduled_for is None or post.scheduled_for == cmd.scheduled_for),
        )
        if not same
    ]
    if differs:
        raise Conflict(f"request_id was already used for a post with another {', '.join(differs)}", field="request_id")


def create_post(
    db: Database,
    cmd: GenerateCommand,
    *,
    space: ActionSpace,
    params: PolicyParams,
    reward_config: RewardConfig,
    embedder: EmbedderSource | None,
    now: datetime,
    content: ContentWriter | None = None,
    limits: RateLimits = NO_LIMITS,
) -> GeneratedPost:
    """Choose, log and store the post; then, with ``content``, let the providers write it.

    Without ``content`` the prompts and the deterministic offline caption are
    stored with the decision: one read round trip and one write. With it, the
    post is committed 'pending' first and the providers run outside any
    transaction.
    """
    post_id = post_id_for(cmd.business_id, cmd.request_id)
    scheduled_for, scheduled_by = (cmd.scheduled_for, "given") if cmd.scheduled_for is not None else (now, "now")

    with db.statement() as conn:
        # The bandit's decision reads only its solution: θ, the step count and this business's terms.
        arrays = RidgeIGW.solution_names(str(cmd.business_id)) if params.learner == "bandit" else ()
        cap = limits.posts_per_hour
        since = window_start(now) if cap else None
        unscheduled = cmd.scheduled_for is None and not cmd.auto_publish
        inputs = load_decision_inputs(
            conn, cmd.business_id, post_id, cmd.platform, arrays, since=since, cap=cap, slots=unscheduled
        )
    profile = inputs.profile
    if profile is None:
        raise NotFound("no profile for this business", field="business_id")
    if inputs.exists:
        stored = _stored(db, post_id)
        _same_request(stored.post, cmd)
        if content is not None:
            complete_content(db, post_id, content, now)
            return _stored(db, post_id)
        return stored
    # Checked after the redelivery answer, which stands whenever it arrives. Publishing now means
    # now (a post backdated by auto_publish would earn a final reward at once).
    if cmd.auto_publish and abs(scheduled_for - now) > CLOCK_SKEW:
        raise PermanentError("auto_publish publishes now: scheduled_for must be now or left out", field="scheduled_for")
    if cmd.auto_publish and profile.require_approval:
        raise Conflict(
            "this business publishes a draft only once a person approved it: leave auto_publish false",
            field="auto_publish",
        )
    # After what can never succeed (a 4xx), before what can later (a 429). Concurrent requests
    # read the same count, so a burst can pass the limit by as many as are in flight.
    if cap and inputs.recent_posts >= cap:
        raise RateLimited(
            f"this business generated {cap} posts this hour (the limit)", field="business_id",
            retry_after=retry_after(now),
        )  # fmt: skip

    if cmd.scheduled_for is None and not cmd.auto_publish:
        # A draft the caller left unscheduled goes out at the business's best time (docs/best-time.md).
        best = best_times_from(profile, cmd.platform, inputs.own_slots, inputs.shared_slots, now)
        scheduled_for = best.next_time.astimezone(UTC)
        scheduled_by = "best_time"

    # Embedding is CPU work: it runs outside any transaction.
    business_vec = profile.embedding
    topic_vec = cmd.topic_embedding
    # The embedder is loaded only when some text has no vector (the load costs ~0.3 s once).
    model = embedder.get() if embedder is not None and (business_vec is None or topic_vec is None) else None
    if business_vec is None and model is not None:
        business_vec = model.embed(profile.text())
    if topic_vec is None and model is not None:
        topic_vec = model.embed(cmd.topic)
    context = build_context(cmd.platform, scheduled_for, profile.time_zone, business_vec, topic_vec)

    view = inputs.policy.view(context.time_bucket)
    decision_id = decision_id_for(post_id)
    seed = seed_from_id(decision_id.int)
    fixed = baseline_action(space, params.holdback_action) if in_holdback(seed, params.holdback_share) else None
    # The brand's variety cap: recipes its latest posts here already repeated enough (docs/variety.md).
    avoid = recipes_to_avoid(inputs.recent_actions, space, profile.variety) if fixed is None else []
    # The decision stores the raw x and the active normaliser's version; the learner sees x
    # through that normaliser (docs/decisions.md item 48). Its arrays are cached: a miss costs
    # one more round trip, once per instance and version.
    normaliser = None if view.normaliser_version is None else normaliser_store.get(db, view.normaliser_version)
    if params.learner == "bandit":
        learner, fitted = RidgeIGW.restore(space, bandit_params(params), DEFAULT_RANK, inputs.policy.arrays)
        if not fitted:  # learned under another action space: the next update starts afresh (docs/decisions.md 54)
            log("WARNING", "the learner's state is for another action space: choosing as a new learner")
        components = np.zeros(0) if normaliser is None else normaliser.components(context.x)
        selection = learner.choose(
            context.platform,
            context.time_bucket,
            components,
            seed,
            business=str(cmd.business_id),
            fixed=fixed,
            avoid=avoid,
        )
        drawn = Drawn("bandit", None, params.epsilon)
    else:
        # The ε actually used (the schedule at the state's learning steps) is what the decision logs.
        params = replace(params, epsilon=epsilon_at(params, view.steps))
        x = context.x if normaliser is None else normaliser.apply(context.x, cmd.platform)
        selection = select(space, view.preferences, view.theta, x, params, seed, fixed=fixed, avoid=avoid)
        drawn = Drawn("gradient", params.tau, params.epsilon)
    prompts = build_prompts(profile, cmd.platform, cmd.topic, space, selection.action)
    caption = offline_caption(profile, cmd.topic, space, selection.action)

    new_post = post_store.NewPost(
        post_id=post_id,
        business_id=cmd.business_id,
        request_id=cmd.request_id,
        platform=cmd.platform,
        topic=cmd.topic,
        scheduled_for=scheduled_for,
        created_at=now,
        mode=prompts.mode,
        caption_prompt=prompts.caption_prompt,
        # Offline the caption is final, so the image prompt is filled now; a provider fills it later.
        image_prompt=prompts.image_prompt if content is not None else fill_caption(prompts.image_prompt, caption),
        caption=caption,
        generator_prompt=prompts.generator_prompt,
        content_status="pending" if content is not None else "done",
        content_source=content.source if content is not None else "offline",
        scheduled_by=scheduled_by,
    )
    post_row, decision_row = post_store.new_rows(
        new_post, decision_id, context, selection, drawn, view.version, space.version, view.normaliser_version
    )
    tasks: tuple[Task, ...] = ()
    if cmd.auto_publish:
        with db.transaction() as conn:
            created = post_store.insert_post_with_decision(conn, post_row, decision_row)
            fault_point("generate_post.after_insert")
            if created:
                post = post_store.get_post(conn, post_id, for_update=True)
                assert post is not None
                tasks = publish(conn, post, f"sim-{post_id}", scheduled_for, reward_config, now)
                fault_point("generate_post.after_publish")
    else:
        # One statement: the post and its decision are written together or not at all.
        with db.statement() as conn:
            created = post_store.insert_post_with_decision(conn, post_row, decision_row)
    fault_point("generate_post.after_commit")
    if content is not None:
        complete_content(db, post_id, content, now)
    if not created or content is not None or tasks:
        stored = _stored(db, post_id)
        return GeneratedPost(post_id, stored.decision, stored.post, created=created, tasks=tasks)
    return GeneratedPost(post_id=post_id, decision=decision_row, post=post_row, created=True, tasks=tasks)
