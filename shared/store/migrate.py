"""Apply the timestamped SQL migrations in order, once each.

The Supabase CLI applies the same files in production; this runner serves the
embedded default and any ``DATABASE_URL``.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

# Any constant works; it only has to be the same in every process.
_MIGRATION_LOCK = 7_240_118_301


def migration_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.sql") if p.is_file())


def migrate(url: str, directory: Path) -> list[str]:
    """Apply pending migrations; returns the versions applied now."""
    applied_now: list[str] = []
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        conn.execute("select pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            conn.execute(
                "create table if not exists app_migrations ("
                " version text primary key, applied_at timestamptz not null default now())"
            )
            done = {r[0] for r in conn.execute("select version from app_migrations")}
            for path in migration_files(directory):
                version = path.stem
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(path.read_text("utf-8").encode())
                    conn.execute("insert into app_migrations (version) values (%s)", (version,))
                applied_now.append(version)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
    return applied_now
