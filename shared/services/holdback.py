"""The holdback report: mean reward of the policy's posts and of the holdback arm's
(the fixed baseline action), with 95% intervals, and the lift between them."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from shared.core.context import PLATFORMS
from shared.core.lift import LiftRow, lift_rows
from shared.store import holdback as store
from shared.store.db import Database


def holdback_report(
    db: Database, since: date | None = None, owner: UUID | None = None, business: UUID | None = None
) -> list[LiftRow]:
    """ "all" first, then each platform with rewards; one read. Of every business, or of an
    ``owner``'s, or of one ``business``."""
    with db.statement() as conn:
        arms = store.arm_summaries(conn, since, owner, business)
    return lift_rows(arms, PLATFORMS)
