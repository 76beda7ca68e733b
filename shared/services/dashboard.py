"""The dashboard use case: read (one transaction) → shape (pure) → render (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

from shared.auth import Forbidden
from shared.core.action_space import ActionSpace
from shared.core.policy import PolicyParams
from shared.core.what_works import findings
from shared.errors import NotFound
from shared.presentation.data import WhatWorksRow
from shared.presentation.page import ALL_HREF, BUSINESS_HREF, render
from shared.presentation.view import build_view
from shared.services.best_time import best_time_rows, refresh_slot_rewards
from shared.services.evaluation import refresh_evaluation
from shared.services.holdback import holdback_report
from shared.store import profiles as profile_store
from shared.store.dashboard import (
    listed_businesses,
    load_dashboard,
    recent_mean_contexts,
    refresh_value_rewards,
    store_typical_contexts,
    typical_contexts_computed_at,
    value_rewards_computed_at,
    value_stats,
)
from shared.store.db import Database
from shared.store.evaluation import cached_evaluation

# Engagement and followers: this many days back.
ENGAGEMENT_DAYS = 60


def dashboard_html(
    db: Database,
    space: ActionSpace,
    params: PolicyParams,
    now: datetime,
    *,
    latest: int = 30,
    owner: UUID | None = None,
    business: UUID | None = None,
    evaluate: bool = False,
    business_href: str = BUSINESS_HREF,
    all_href: str = ALL_HREF,
) -> str:
    """The page; with ``owner`` (a business owner's user id), of their businesses only; with
    ``business``, of that one (an owner's own: 403 otherwise; 404 when there is none). The
    what-ifs, read over every business, are on the operator's all-business page only.
    The what-ifs, typical contexts and precomputed sums are what the sweep stored last (none
    until it ran once); with ``evaluate`` (the command line's and the demo's page), they are
    brought up to date first."""
    if business is not None:
        check_in_scope(db, owner, business)
    if evaluate and owner is None:
        refresh_typical_contexts(db, now)
        refresh_slot_rewards(db, now)
        refresh_what_works(db, now)
        refresh_evaluation(db, space, now)
    since = (now - timedelta(days=ENGAGEMENT_DAYS)).date()
    with db.transaction() as conn:
        evaluation = cached_evaluation(conn) if owner is None and business is None else None
        data = load_dashboard(conn, latest=latest, owner=owner, business=business, since=since)
    what_if = None if evaluation is None else evaluation.estimates
    holdback = holdback_report(db, None, owner, business)
    view = build_view(data, space, params, what_if, now.date())
    times = best_time_rows(db, owner, now, business)
    works = what_works_rows(db, space, owner, business)
    return render(
        view,
        now,
        holdback=holdback,
        holdback_share=params.holdback_share,
        best_times=times,
        what_works=works,
        operator=owner is None,
        business_href=business_href,
        all_href=all_href,
    )


def write_dashboards(db: Database, space: ActionSpace, params: PolicyParams, now: datetime, out: Path) -> list[Path]:
    """The operator's page at ``out`` (brought up to date first), and each listed business's
    beside it (``<stem>-<business id>.html``), their selectors linking the files; the paths."""
    business_href = f"{out.stem}-{{}}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    first = dashboard_html(db, space, params, now, evaluate=True, business_href=business_href, all_href=out.name)
    out.write_text(first, encoding="utf-8")
    written = [out]
    with db.statement() as conn:
        businesses = listed_businesses(conn, None)
    for b in businesses:
        page = dashboard_html(
            db, space, params, now, business=UUID(b.business_id), business_href=business_href, all_href=out.name
        )
        path = out.with_name(business_href.format(b.business_id))
        path.write_text(page, encoding="utf-8")
        written.append(path)
    return written


def check_in_scope(db: Database, owner: UUID | None, business: UUID) -> None:
    """A business an operator (``owner`` None) or its owner may see on the page. To a user, an
    unknown business and someone else's answer alike (services/access.py), so ids cannot be probed."""
    with db.statement() as conn:
        owned_by = profile_store.owner_of_business(conn, business)
        found = owned_by is not None or profile_store.exists(conn, business)
    if owner is not None and owned_by != owner:
        raise Forbidden("not your business", field="business")
    if not found:
        raise NotFound("no profile for this business", field="business")


def what_works_rows(
    db: Database, space: ActionSpace, owner: UUID | None, business: UUID | None = None
) -> list[WhatWorksRow]:
    """The best-earning value of each platform and dimension, in the page's scope (an owner's
    businesses, or all; one business when given), from what the sweep stored
    (``refresh_value_rewards``)."""
    with db.statement() as conn:
        stats = value_stats(conn, owner, business)
    rows = []
    for f in findings(stats):
        try:
            dimension = space.dimension(f.dimension)
            label = dimension.label(f.value)
        except (KeyError, ValueError):
            continue  # a dimension or value of another action space
        name = f.dimension.replace("_", " ").capitalize()
        rows.append(
            WhatWorksRow(
                f.platform, name, label, f.posts, f.platform_posts, f.lift, f.low, f.high, f.sure, f.dimension, f.value
            )
        )
    return rows


def refresh_what_works(db: Database, now: datetime, *, every: timedelta = timedelta(0)) -> bool:
    """Recompute the rewards per chosen value unless they are younger than ``every``."""
    with db.statement() as conn:
        computed_at = value_rewards_computed_at(conn)
    if computed_at is not None and now - computed_at < every:
        return False
    with db.transaction() as conn:
        return refresh_value_rewards(conn, now)


def refresh_typical_contexts(db: Database, now: datetime, *, every: timedelta = timedelta(0)) -> bool:
    """Store each cell's typical context (the mean x of its latest decisions) unless the stored
    ones are younger than ``every``; True when it stored some."""
    with db.statement() as conn:
        computed_at = typical_contexts_computed_at(conn)
    if computed_at is not None and now - computed_at < every:
        return False
    with db.transaction() as conn:
        contexts = recent_mean_contexts(conn)
        store_typical_contexts(conn, contexts, now)
    return bool(contexts)
