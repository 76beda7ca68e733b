"""The embedded default: started on demand under a data folder, migrated once, reused."""

from __future__ import annotations

import uuid

from shared.bootstrap import build_runtime
from shared.config import Settings
from shared.core.profile import Profile
from shared.store.migrate import migrate
from shared.store.profiles import get_profile, upsert_profile


def test_the_embedded_database_is_created_migrated_and_reused_across_restarts(tmp_path):
    settings = Settings(database_url=None, embedded_pg_dir=tmp_path / "pg", auth_mode="disabled")
    business_id = uuid.uuid4()

    first = build_runtime(settings)
    try:
        assert first.embedded is not None
        with first.db.transaction() as conn:
            upsert_profile(conn, Profile(business_id=business_id, name="Kept"))
            applied = [r[0] for r in conn.execute("select version from app_migrations")]
        assert applied, "the embedded server was not migrated"
    finally:
        first.close()

    second = build_runtime(settings)
    try:
        assert second.embedded is not None
        # Nothing left to apply: the same files, already recorded.
        assert migrate(second.embedded.url, settings.migrations_dir) == []
        with second.db.transaction() as conn:
            kept = get_profile(conn, business_id)
        assert kept is not None and kept.name == "Kept"
    finally:
        second.close()
