"""Shared fixtures: a real Postgres (embedded, or DATABASE_URL), the runtime,
and the four functions served in process by functions-framework."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

from shared.bootstrap import Runtime, build_runtime, use_runtime
from shared.clock import ManualClock
from shared.config import Settings
from shared.core.profile import Profile
from shared.store.embedded import start_embedded
from shared.store.migrate import migrate
from shared.store.profiles import upsert_profile
from simulation.local_functions import LocalFunctions
from tests.support.database import START, reset_state
from tests.support.tokens import Keys, serve_jwks


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database for this test session (and this xdist worker).

    With DATABASE_URL set, a new database on that server, dropped at the end;
    otherwise an embedded server in a temporary folder, stopped at the end.
    """
    base = os.environ.get("DATABASE_URL")
    if base:
        name = f"learner_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'create database "{name}"')
        url = psycopg.conninfo.make_conninfo(base, dbname=name)
        try:
            migrate(url, Settings().migrations_dir)
            yield url
        finally:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')
        return
    with tempfile.TemporaryDirectory(prefix="learner-pg-") as tmp:
        server = start_embedded(Path(tmp) / "pg")
        try:
            migrate(server.url, Settings().migrations_dir)
            yield server.url
        finally:
            server.stop()


@pytest.fixture(scope="session")
def session_runtime(database_url: str) -> Iterator[Runtime]:
    settings = Settings(database_url=database_url, auto_migrate=False, auth_mode="disabled")
    rt = build_runtime(settings, clock=ManualClock(START))
    yield rt
    rt.db.close()


@pytest.fixture
def runtime(session_runtime: Runtime) -> Iterator[Runtime]:
    """The session's runtime on an empty database and a fresh manual clock at START."""
    reset_state(session_runtime)
    session_runtime.clock = ManualClock(START)
    session_runtime.params = session_runtime.settings.policy_params()
    use_runtime(session_runtime)
    yield session_runtime
    use_runtime(None)


@pytest.fixture
def gradient(runtime: Runtime) -> Runtime:
    """The runtime with the seed's softmax policy gradient as its learner (tests of H and θ);
    ``runtime`` gives the next test the configured default back."""
    runtime.params = replace(runtime.params, learner="gradient")
    return runtime


@pytest.fixture
def clock(runtime: Runtime) -> ManualClock:
    assert isinstance(runtime.clock, ManualClock)
    return runtime.clock


@pytest.fixture(scope="session")
def functions() -> LocalFunctions:
    return LocalFunctions()


@pytest.fixture
def make_profile(runtime: Runtime) -> Callable[..., uuid.UUID]:
    """Store a profile (with a seeded embedding unless given) and return its id."""

    def make(**overrides: Any) -> uuid.UUID:
        seed = overrides.pop("seed", 0)
        fields: dict[str, Any] = {
            "business_id": uuid.uuid4(),
            "name": "Acme Analytics",
            "business_types": ("Technology", "B2B"),
            "industries": ("Software",),
            "time_zone": "UTC",
            "embedding": np.random.default_rng(seed).normal(size=384),
            "follower_counts": {"instagram": 5000, "x": 2000, "linkedin": 8000, "facebook": 3000},
        }
        fields.update(overrides)
        profile = Profile(**fields)
        with runtime.db.transaction() as conn:
            upsert_profile(conn, profile)
        return profile.business_id

    return make


@pytest.fixture(scope="module")
def keys() -> Keys:
    """Signing keys for Supabase user tokens and Google OIDC tokens (tests/support/tokens.py)."""
    return Keys()


@pytest.fixture(scope="module")
def jwks_server(keys: Keys) -> Iterator[str]:
    """The keys' JWKS served on loopback: the base URL."""
    with serve_jwks(keys) as url:
        yield url
