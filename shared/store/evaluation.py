"""What off-policy evaluation reads: logged decisions with their final rewards,
and the current policy (SQL only)."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.bandit import RidgeIGW
from shared.context import FloatArray
from shared.normaliser import ContextNormaliser
from shared.store import normalisers, policy
from shared.store.db import Conn
from shared.store.learner import read_arrays
from shared.store.posts import DECISION_COLUMNS_OF_D, decision_from_row
from shared.target_policies import LoggedDecision


@dataclass(frozen=True)
class CurrentPolicy:
    version: int
    preferences: dict[tuple[str, str], dict[tuple[str, str], float]]  # (platform, bucket) → (dim, value) → H
    theta: dict[tuple[str, str], FloatArray]
    tau: float | None  # of the latest decision: what the policy runs with now, ε schedule included (None: none yet)
    epsilon: float | None
    normaliser: ContextNormaliser | None = None  # the active one: θ·x' uses its x' (None: the raw x)
    learner: str | None = None  # of the latest decision (None: none yet)
    arrays: dict[str, FloatArray] = field(default_factory=dict)  # the reward-model learner's shared solution


def load_logged(conn: Conn, limit: int) -> list[LoggedDecision]:
    """The latest ``limit`` decisions that have a final reward value, oldest first.
    Holdback decisions are left out: their one-hot π supports no other policy."""
    rows = (
        conn.cursor(binary=True)
        .execute(
            f"select r.value, {DECISION_COLUMNS_OF_D} from decisions d join rewards r using (post_id)"
            " where r.value is not null and not d.holdback order by d.created_at desc, d.decision_id limit %s",
            (limit,),
        )
        .fetchall()
    )
    out = []
    for row in reversed(rows):
        d = decision_from_row(row[1:])
        out.append(LoggedDecision(d.platform, d.time_bucket, d.x, d.choices, float(row[0])))
    return out


def load_current_policy(conn: Conn) -> CurrentPolicy:
    """H, θ, the reward-model learner's shared solution, the version and the active
    normaliser in one snapshot (the caller's transaction), with the learner, τ and ε
    of the latest decision."""
    version = conn.execute("select version from policy_state").fetchone()
    assert version is not None
    prefs, theta = policy.read_preferences_and_theta(conn)
    latest = conn.execute(
        "select tau, epsilon, learner from decisions where not holdback order by created_at desc limit 1"
    ).fetchone()
    tau, epsilon, learner = (None, None, None) if latest is None else latest
    active = normalisers.active_version(conn)
    normaliser = None if active is None else normalisers.fetch(conn, {active})[active]
    arrays = read_arrays(conn, RidgeIGW.solution_names(None))
    return CurrentPolicy(int(version[0]), prefs, theta, tau, epsilon, normaliser, learner, arrays)
