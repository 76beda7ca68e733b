"""The migrations applied as `supabase db push` applies them: each file of
infra/supabase/migrations in its own transaction, in name order, with the CLI's own
history table and without the product runner (so without its app_migrations), on a
database prepared as Supabase prepares one: the roles anon, authenticated and
service_role, auth.uid(), and Supabase's default privileges (every new table in public
granted to all three). Then row-level security on every table and the role matrix."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from shared.config import Settings
from shared.store.migrate import migration_files

# What Supabase's image does before any migration of the project (roles, auth.uid(),
# grants on the schemas and the default privileges of tables made in public).
SUPABASE_LIKE = """
do $$
begin
  create role anon nologin noinherit;
exception when duplicate_object then null;
end $$;
do $$
begin
  create role authenticated nologin noinherit;
exception when duplicate_object then null;
end $$;
do $$
begin
  create role service_role nologin noinherit bypassrls;
exception when duplicate_object then null;
end $$;
create schema auth;
create function auth.uid() returns uuid language sql stable as $$
  select nullif(coalesce(current_setting('request.jwt.claim.sub', true),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')), '')::uuid
$$;
grant usage on schema auth, public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
create schema supabase_migrations;
create table supabase_migrations.schema_migrations (version text primary key, statements text[], name text);
"""


def _connect(url: str, autocommit: bool = False) -> psycopg.Connection[tuple[Any, ...]]:
    """No prepared statements: through a transaction pooler (make test-pooler) they would
    land on another server connection."""
    return psycopg.connect(url, autocommit=autocommit, prepare_threshold=None)


# What signed-in users may read (their own rows).
OWN_ROWS = (
    "profiles",
    "posts",
    "decisions",
    "snapshots",
    "rewards",
    "business_activity_days",
    "business_activity_weeks",
)
PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


@contextmanager
def _supabase_like(database_url: str) -> Iterator[str]:
    """A new database on the test server, prepared as Supabase prepares one; dropped after."""
    name = f"cli_{uuid.uuid4().hex[:10]}"
    with _connect(database_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = psycopg.conninfo.make_conninfo(database_url, dbname=name)
    try:
        with _connect(url, autocommit=True) as conn:
            conn.execute(SUPABASE_LIKE.encode())
        yield url
    finally:
        with _connect(database_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="module")
def pushed(database_url: str) -> Iterator[str]:
    """A Supabase-like database migrated file by file, as the CLI does."""
    with _supabase_like(database_url) as url, _connect(url, autocommit=True) as conn:
        for path in migration_files(Settings().migrations_dir):
            version, _, label = path.stem.partition("_")
            with conn.transaction():  # one transaction per file, as the CLI does
                conn.execute(path.read_text("utf-8").encode())
                conn.execute(
                    "insert into supabase_migrations.schema_migrations (version, name) values (%s, %s)",
                    (version, label),
                )
        yield url


def _tables(url: str) -> list[str]:
    with _connect(url) as conn:
        rows = conn.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'public' and c.relkind in ('r', 'p') order by 1"
        ).fetchall()
    return [r[0] for r in rows]


def test_every_file_applies_on_its_own_and_the_runners_table_is_not_needed(pushed: str) -> None:
    with _connect(pushed) as conn:
        versions = conn.execute("select count(*) from supabase_migrations.schema_migrations").fetchone()
        runner = conn.execute("select to_regclass('public.app_migrations')").fetchone()
    assert versions == (len(migration_files(Settings().migrations_dir)),)
    assert runner == (None,)


def test_every_table_has_row_level_security(pushed: str) -> None:
    with _connect(pushed) as conn:
        open_tables = conn.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity"
        ).fetchall()
    assert len(_tables(pushed)) >= 20
    assert open_tables == []


@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_the_api_roles_hold_only_what_the_product_grants(pushed: str, role: str) -> None:
    held = {}
    with _connect(pushed) as conn:
        for table in _tables(pushed):
            held[table] = {
                p
                for p in PRIVILEGES
                if conn.execute("select has_table_privilege(%s, %s, %s)", (role, table, p)).fetchone()[0]  # type: ignore[index]
            }
    expected = {t: ({"SELECT"} if role == "authenticated" and t in OWN_ROWS else set()) for t in held}
    assert held == expected


def test_a_signed_in_user_reads_only_their_own_rows_and_changes_nothing(pushed: str) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    with _connect(pushed, autocommit=True) as conn:
        for owner in (alice, bob):
            conn.execute(
                "insert into profiles (business_id, name, owner_id) values (%s, %s, %s)",
                (uuid.uuid4(), f"shop of {owner}", owner),
            )
        total = conn.execute("select count(*) from profiles").fetchone()
    assert total is not None and total[0] >= 2
    with _connect(pushed) as conn:
        # Transaction-local, so nothing of it outlives this test's transaction (a pooler reuses the connection).
        conn.execute("set local role authenticated")
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps({"sub": str(alice)}),))
        assert conn.execute("select owner_id from profiles").fetchall() == [(alice,)]
        for statement in (
            "truncate profiles",
            "update profiles set name = 'mine now'",
            "delete from profiles",
            "insert into profiles (business_id, name, owner_id) values (gen_random_uuid(), 'x', auth.uid())",
            "update policy_state set version = version + 1",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(statement)


def test_on_supabase_without_pg_net_the_webhook_migration_stops_and_says_what_to_enable(database_url: str) -> None:
    with _supabase_like(database_url) as url, _connect(url, autocommit=True) as conn:
        # Supabase's webhook function is there; pg_net and Vault are not enabled.
        conn.execute(
            b"create schema supabase_functions;"
            b" create function supabase_functions.http_request() returns trigger language plpgsql"
            b" as $$ begin return new; end $$;"
        )
        with pytest.raises(psycopg.errors.RaiseException, match="pg_net and Vault"):
            for path in migration_files(Settings().migrations_dir):
                with conn.transaction():
                    conn.execute(path.read_text("utf-8").encode())
        # The file that stopped left nothing half done: its transaction rolled back.
        assert conn.execute("select to_regclass('public.sweep_runs')").fetchone() == (None,)


def test_infra_is_the_clis_workdir() -> None:
    import tomllib

    config = tomllib.loads((Settings().migrations_dir.parent / "config.toml").read_text("utf-8"))
    assert config["project_id"] and config["db"]["major_version"] >= 15
