"""Off-policy evaluation of the logged decisions: read (one transaction) →
estimate (pure). The sweep refreshes the stored one when the policy moved on; the
dashboard's what-if table reads what is stored (one row, not a bootstrap per page)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from shared.core.action_space import ActionSpace
from shared.core.bandit import DEFAULT_RANK, BanditParams, RidgeIGW
from shared.core.off_policy import Estimate, evaluate
from shared.core.target_policies import (
    BanditPolicy,
    LoggingPolicy,
    SoftmaxPolicy,
    TargetPolicy,
    UniformPolicy,
    WhatIf,
    default_what_ifs,
)
from shared.store import evaluation as store
from shared.store import policy as policy_store
from shared.store.db import Database
from shared.store.evaluation import StoredEvaluation

# The latest decisions with a reward that one evaluation reads (bounded work per page).
LIMIT = 5000
# The smallest log worth an estimate (the reward model is cross-fitted on halves).
MINIMUM = 20
# A fixed seed: the same log gives the same table on every page load.
SEED = 20261127


@dataclass(frozen=True)
class Evaluation:
    version: int
    n: int
    estimates: tuple[Estimate, ...]


def current_policy_name(version: int) -> str:
    # Its estimate reuses the rewards it learned from, which makes it optimistic
    # (docs/learning.md measures by how much): the name says so.
    return f"current policy (v{version}, learned from these posts: optimistic)"


def evaluate_logged(
    db: Database,
    space: ActionSpace,
    *,
    what_ifs: Sequence[WhatIf] | None = None,
    limit: int = LIMIT,
    n_boot: int = 500,
    seed: int = SEED,
) -> Evaluation:
    """IPS, SNIPS and DR estimates with 95% bootstrap intervals of the current
    policy, uniform random, the logging policy and the what-if policies, on the
    latest ``limit`` rewarded decisions. No estimates below MINIMUM decisions."""
    with db.transaction() as conn:
        logged = store.load_logged(conn, limit)
        current = store.load_current_policy(conn)
    if len(logged) < MINIMUM:
        return Evaluation(current.version, len(logged), ())
    targets: list[TargetPolicy] = []
    if current.learner == "bandit" and current.epsilon is not None:
        # The shared model: the log's rows carry no business, so the businesses' own terms are left out.
        learner, _ = RidgeIGW.restore(space, BanditParams(epsilon=current.epsilon), DEFAULT_RANK, current.arrays)
        targets.append(BanditPolicy(current_policy_name(current.version), learner, current.normaliser))
    elif current.tau is not None and current.epsilon is not None:
        targets.append(
            SoftmaxPolicy(
                current_policy_name(current.version),
                current.preferences,
                current.theta,
                current.tau,
                current.epsilon,
                # θ was learned on x' of the active normaliser: the policy is evaluated on the same x'.
                normaliser=current.normaliser,
            )
        )
    targets += [UniformPolicy(), LoggingPolicy(), *(default_what_ifs() if what_ifs is None else what_ifs)]
    estimates = evaluate(logged, targets, np.random.default_rng(seed), n_boot=n_boot)
    return Evaluation(current.version, len(logged), tuple(estimates))


def refresh_evaluation(
    db: Database, space: ActionSpace, now: datetime, *, every: timedelta = timedelta(0)
) -> StoredEvaluation | None:
    """Evaluate and store, unless the stored evaluation is of the current policy version
    already, or was computed less than ``every`` before ``now``, or the log is too short
    to evaluate (then None, and nothing is written).
    Outside any transaction but two short ones (the read, the write); an overlapping run's
    newer version is not overwritten."""
    with db.statement() as conn:
        stored = store.cached_evaluation(conn)
        version = policy_store.policy_version(conn)
    if stored is not None and (stored.version == version or now - stored.computed_at < every):
        return None
    result = evaluate_logged(db, space)
    if result.n < MINIMUM:
        return None
    fresh = StoredEvaluation(result.version, result.n, now, result.estimates)
    with db.transaction() as conn:
        store.store_evaluation(conn, fresh)
    return fresh
