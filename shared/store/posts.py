"""Posts and the decisions they were generated with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np
from psycopg.types.json import Jsonb

from shared.core.context import Context, FloatArray
from shared.core.policy import DimensionChoice, Drawn, Selection
from shared.store.db import Conn


@dataclass(frozen=True)
class PostRow:
    post_id: UUID
    business_id: UUID
    request_id: str
    platform: str
    topic: str
    scheduled_for: datetime
    status: str
    media_id: str | None
    posted_at: datetime | None
    deleted_at: datetime | None
    mode: str
    caption_prompt: str
    image_prompt: str
    caption: str | None
    generator_prompt: str | None = None
    content_status: str = "done"  # 'pending' while a provider is still to write it, 'failed' if it refused
    content_source: str | None = None
    content_error: str | None = None
    image_url: str | None = None
    # When the post was generated, on the service's clock (posted_at may not precede it).
    created_at: datetime | None = None
    # A person's review of the draft (docs/review.md): 'none', 'approved' or 'rejected'.
    review: str = "none"
    reviewed_at: datetime | None = None
    edited_caption: str | None = None  # a person's caption, beside the generated one
    edited_at: datetime | None = None
    scheduled_by: str = "given"  # 'given' by the caller, 'now', or 'best_time' (docs/best-time.md)


@dataclass(frozen=True)
class DecisionRow:
    decision_id: UUID
    post_id: UUID
    platform: str
    time_bucket: str
    day_of_week: int
    x: FloatArray
    context_fallback: bool
    choices: tuple[DimensionChoice, ...]
    joint_propensity: float
    tau: float | None  # the softmax temperature (None: the reward-model learner has none)
    epsilon: float
    policy_version: int
    action_space: str
    seed: int
    holdback: bool = False  # the fixed baseline action (π one-hot); never learned from
    normaliser_version: str | None = None  # the scores used x' of this normaliser (None: the raw x); x is raw
    learner: str = "gradient"  # which learner chose: 'gradient' or 'bandit' (docs/learning.md)
    excluded: float = 0.0  # π's mass on the recipes the variety cap left out (docs/variety.md)

    @property
    def action(self) -> dict[str, str]:
        return {c.dimension: c.chosen for c in self.choices}


@dataclass(frozen=True)
class NewPost:
    post_id: UUID
    business_id: UUID
    request_id: str
    platform: str
    topic: str
    scheduled_for: datetime
    created_at: datetime  # the service's clock, as every other time it writes
    mode: str
    caption_prompt: str
    image_prompt: str
    caption: str | None
    generator_prompt: str | None = None
    content_status: str = "done"
    content_source: str | None = None
    scheduled_by: str = "given"


_POST_COLUMNS = (
    "post_id, business_id, request_id, platform, topic, scheduled_for, status, media_id,"
    " posted_at, deleted_at, mode, caption_prompt, image_prompt, caption,"
    " generator_prompt, content_status, content_source, content_error, image_url, created_at,"
    " review, reviewed_at, edited_caption, edited_at, scheduled_by"
)
_DECISION_COLUMNS = (
    "decision_id, post_id, platform, time_bucket, day_of_week, x, context_fallback, choices,"
    " joint_propensity, tau, epsilon, policy_version, action_space, seed, holdback, normaliser_version, learner,"
    " excluded"
)
# The same columns, qualified for queries that join decisions as "d".
DECISION_COLUMNS_OF_D = ", ".join(f"d.{c.strip()}" for c in _DECISION_COLUMNS.split(","))


def _choice_json(c: DimensionChoice) -> dict[str, Any]:
    """One dimension of a decision as stored (jsonb); ``h`` and ``theta_x`` explain the scores."""
    return {
        "dimension": c.dimension,
        "values": list(c.values),
        "scores": list(c.scores),
        "h": list(c.h),
        "theta_x": list(c.theta_x),
        "pi0": list(c.pi0),
        "pi": list(c.pi),
        "chosen": c.chosen,
        "propensity": c.propensity,
    }


def _choice_from_json(d: dict[str, Any]) -> DimensionChoice:
    return DimensionChoice(
        dimension=d["dimension"],
        values=tuple(d["values"]),
        scores=tuple(float(v) for v in d["scores"]),
        pi0=tuple(float(v) for v in d["pi0"]),
        pi=tuple(float(v) for v in d["pi"]),
        chosen=d["chosen"],
        # Decisions logged before explanations were stored have neither.
        h=tuple(float(v) for v in d.get("h", ())),
        theta_x=tuple(float(v) for v in d.get("theta_x", ())),
    )


def insert_post_with_decision(conn: Conn, post: PostRow, decision: DecisionRow) -> bool:
    """Insert the post and its decision (as ``new_rows`` made them) in one statement (one
    round trip, atomic on its own); False when (business, request) exists already and
    nothing was written. ``decision.x`` is stored raw; ``normaliser_version`` names the x'
    the scores used."""
    row = conn.execute(
        "with p as ("
        " insert into posts (post_id, business_id, request_id, platform, topic, scheduled_for,"
        " mode, caption_prompt, image_prompt, caption, generator_prompt, content_status, content_source,"
        " created_at, scheduled_by)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        # No conflict target: post_id is derived from (business_id, request_id), and
        # racing inserts may trip either unique index first.
        " on conflict do nothing returning post_id)"
        f" insert into decisions ({_DECISION_COLUMNS}, action)"
        " select %s, p.post_id, %s, %s, %s, %b, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s from p"
        " returning decision_id",
        (
            post.post_id,
            post.business_id,
            post.request_id,
            post.platform,
            post.topic,
            post.scheduled_for,
            post.mode,
            post.caption_prompt,
            post.image_prompt,
            post.caption,
            post.generator_prompt,
            post.content_status,
            post.content_source,
            post.created_at,
            post.scheduled_by,
            decision.decision_id,
            decision.platform,
            decision.time_bucket,
            decision.day_of_week,
            decision.x,
            decision.context_fallback,
            Jsonb([_choice_json(c) for c in decision.choices]),
            decision.joint_propensity,
            decision.tau,
            decision.epsilon,
            decision.policy_version,
            decision.action_space,
            decision.seed,
            decision.holdback,
            decision.normaliser_version,
            decision.learner,
            decision.excluded,
            Jsonb(decision.action),
        ),
    ).fetchone()
    return row is not None


def new_rows(
    post: NewPost,
    decision_id: UUID,
    context: Context,
    selection: Selection,
    drawn: Drawn,
    policy_version: int,
    action_space: str,
    normaliser_version: str | None = None,
) -> tuple[PostRow, DecisionRow]:
    """The rows to insert, as a read would return them once inserted (no read needed)."""
    post_row = PostRow(
        post_id=post.post_id,
        business_id=post.business_id,
        request_id=post.request_id,
        platform=post.platform,
        topic=post.topic,
        scheduled_for=post.scheduled_for,
        status="generated",
        media_id=None,
        posted_at=None,
        deleted_at=None,
        mode=post.mode,
        caption_prompt=post.caption_prompt,
        image_prompt=post.image_prompt,
        caption=post.caption,
        generator_prompt=post.generator_prompt,
        content_status=post.content_status,
        content_source=post.content_source,
        created_at=post.created_at,
        scheduled_by=post.scheduled_by,
    )
    decision = DecisionRow(
        decision_id=decision_id,
        post_id=post.post_id,
        platform=context.platform,
        time_bucket=context.time_bucket,
        day_of_week=context.day_of_week,
        x=context.x,
        context_fallback=context.fallback,
        choices=selection.choices,
        joint_propensity=selection.joint_propensity,
        tau=drawn.tau,
        epsilon=drawn.epsilon,
        policy_version=policy_version,
        action_space=action_space,
        seed=selection.seed,
        holdback=selection.holdback,
        normaliser_version=normaliser_version,
        learner=drawn.learner,
        excluded=selection.excluded,
    )
    return post_row, decision


def _post(row: tuple[Any, ...]) -> PostRow:
    return PostRow(*row)


def get_post(conn: Conn, post_id: UUID, *, for_update: bool = False) -> PostRow | None:
    lock = " for update" if for_update else ""
    row = conn.execute(f"select {_POST_COLUMNS} from posts where post_id = %s{lock}", (post_id,)).fetchone()
    return None if row is None else _post(row)


def get_decision(conn: Conn, post_id: UUID) -> DecisionRow | None:
    row = conn.execute(f"select {_DECISION_COLUMNS} from decisions where post_id = %s", (post_id,)).fetchone()
    return None if row is None else decision_from_row(row)


def mark_posted(conn: Conn, post_id: UUID, media_id: str, posted_at: datetime) -> None:
    conn.execute(
        "update posts set status = 'posted', media_id = %s, posted_at = %s where post_id = %s",
        (media_id, posted_at, post_id),
    )


def mark_deleted(conn: Conn, post_id: UUID, deleted_at: datetime) -> None:
    conn.execute(
        "update posts set status = 'deleted', deleted_at = %s where post_id = %s",
        (deleted_at, post_id),
    )


def decision_from_row(row: tuple[Any, ...]) -> DecisionRow:
    """A row of _DECISION_COLUMNS (x may come as a numpy array from a binary cursor)."""
    return DecisionRow(
        decision_id=row[0],
        post_id=row[1],
        platform=row[2],
        time_bucket=row[3],
        day_of_week=row[4],
        x=np.asarray(row[5], dtype=np.float64),
        context_fallback=row[6],
        choices=tuple(_choice_from_json(c) for c in row[7]),
        joint_propensity=row[8],
        tau=row[9],
        epsilon=row[10],
        policy_version=row[11],
        action_space=row[12],
        seed=row[13],
        holdback=row[14],
        normaliser_version=row[15],
        learner=row[16],
        excluded=row[17],
    )


@dataclass(frozen=True)
class UpdateInputs:
    """What update_policy needs to know about one post's reward, read in one statement."""

    applied_version: int | None  # the version its update made, when it was applied
    status: str  # the reward's: 'pending', 'computed' or 'missing'
    value: float | None
    baseline_before: float | None
    decision: DecisionRow | None


def update_inputs(conn: Conn, post_id: UUID) -> UpdateInputs | None:
    """None when the post has no reward row."""
    row = (
        conn.cursor(binary=True)
        .execute(
            f"select u.version_after, r.status, r.value, r.baseline_before, {DECISION_COLUMNS_OF_D} from rewards r"
            " left join policy_updates u on u.post_id = r.post_id"
            " left join decisions d on d.post_id = r.post_id where r.post_id = %s",
            (post_id,),
        )
        .fetchone()
    )
    if row is None:
        return None
    decision = None if row[4] is None else decision_from_row(row[4:])
    return UpdateInputs(row[0], row[1], row[2], row[3], decision)


@dataclass(frozen=True)
class PendingUpdate:
    """A final reward whose policy update is not applied yet, with the decision it rewards."""

    post_id: UUID
    reward: float
    baseline_before: float
    decision: DecisionRow
    business_id: UUID


def pending_updates(conn: Conn, first: UUID, limit: int) -> list[PendingUpdate]:
    """Final rewards whose policy update is not applied yet, ``first`` first.
    Holdback decisions are never learned from."""
    # Two index reads, not a sort of the whole backlog: ``first`` by its key, the oldest
    # others through the pending rewards' index (rewards_update_pending, on computed_at).
    pending = "r.value is not null and r.baseline_before is not null and not r.policy_applied and not d.holdback"
    columns = f"r.post_id, r.value, r.baseline_before, p.business_id, {DECISION_COLUMNS_OF_D}"
    joined = "rewards r join decisions d using (post_id) join posts p using (post_id)"
    rows = (
        conn.cursor(binary=True)
        .execute(
            f"(select 0, {columns} from {joined} where r.post_id = %s and {pending})"
            f" union all (select 1, {columns} from {joined} where r.post_id <> %s and {pending}"
            "  order by r.computed_at, r.post_id limit %s)",
            (first, first, limit),
        )
        .fetchall()
    )
    rows.sort(key=lambda r: r[0])  # ``first`` first (its part may be empty)
    return [PendingUpdate(r[1], r[2], r[3], decision_from_row(r[5:]), r[4]) for r in rows[:limit]]
