"""The dashboard use case: read (one transaction) → shape (pure) → render (pure)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from shared.action_space import ActionSpace
from shared.dashboard.page import render
from shared.dashboard.view import WhatIfRow, build_view
from shared.policy import PolicyParams
from shared.services.holdback import holdback_report
from shared.store.dashboard import load_dashboard
from shared.store.db import Database

# Hook for the off-policy evaluation module: when the module exists and has
# this function, its rows fill the "what if" table; otherwise the page says the
# table is not available. Contract: ``what_if_rows(db, space)`` → iterable of objects
# with policy, estimator, value, ci_low, ci_high, n.
WHAT_IF_MODULE = "shared.services.evaluation"
WHAT_IF_FUNCTION = "what_if_rows"


def load_what_if(db: Database, space: ActionSpace, module: str = WHAT_IF_MODULE) -> Sequence[WhatIfRow] | None:
    try:
        evaluation: Any = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None  # the module itself is absent, not one of its imports
        raise
    provide = getattr(evaluation, WHAT_IF_FUNCTION, None)
    if provide is None:
        return None
    return [
        WhatIfRow(str(r.policy), str(r.estimator), float(r.value), float(r.ci_low), float(r.ci_high), int(r.n))
        for r in provide(db, space)
    ]


def dashboard_html(
    db: Database,
    space: ActionSpace,
    params: PolicyParams,
    now: datetime,
    *,
    latest: int = 30,
    what_if_module: str = WHAT_IF_MODULE,
    owner: UUID | None = None,
) -> str:
    """The page; with ``owner`` (a business owner's user id), of their businesses only: the
    what-ifs and the holdback's lift, which are read over every business, are left out."""
    with db.transaction() as conn:
        data = load_dashboard(conn, latest=latest, owner=owner)
    what_if = load_what_if(db, space, what_if_module) if owner is None else None
    holdback = holdback_report(db) if owner is None else []
    view = build_view(data, space, params, what_if)
    return render(view, now, holdback=holdback, holdback_share=params.holdback_share)
