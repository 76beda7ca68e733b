"""Builds the runtime (database, clock, task sink, configuration) once per instance."""

from __future__ import annotations

from dataclasses import dataclass
from threading import Lock

from shared.action_space import ActionSpace
from shared.clock import Clock, SystemClock
from shared.config import Settings
from shared.content import ContentWriter
from shared.embedding import Embedder
from shared.image_store import ImageStore, LocalFolderStore
from shared.minilm import load_embedder
from shared.policy import PolicyParams
from shared.reward import RewardConfig
from shared.store.db import Database
from shared.store.embedded import EmbeddedPostgres, start_embedded
from shared.store.migrate import migrate
from shared.tasks.model import OutboxOnly, TaskSink


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock
    space: ActionSpace
    params: PolicyParams
    reward_config: RewardConfig
    tasks: TaskSink
    embedder: Embedder | None = None
    embedded: EmbeddedPostgres | None = None
    content: ContentWriter | None = None  # None: the offline generator, stored with the decision

    def close(self) -> None:
        self.db.close()
        if self.embedded is not None:
            self.embedded.stop()


def database_url(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    """``DATABASE_URL`` when set, else the embedded server (started on demand)."""
    if settings.database_url:
        return settings.database_url, None
    embedded = start_embedded(settings.embedded_pg_dir)
    return embedded.url, embedded


def build_content(settings: Settings) -> ContentWriter | None:
    """The providers the keys allow: Grok for text, Gemini for images; None without any key."""
    if settings.xai_api_key is None and settings.gemini_api_key is None:
        return None
    policy = settings.retry_policy()
    text = None
    if settings.xai_api_key is not None:
        from shared.llm.grok import GrokClient

        text = GrokClient(settings.xai_api_key, model=settings.xai_model, base_url=settings.xai_base_url, policy=policy)
    if settings.gemini_api_key is None:
        return ContentWriter(text=text)
    from shared.llm.gemini import GeminiImageClient

    image = GeminiImageClient(
        settings.gemini_api_key, model=settings.gemini_image_model, base_url=settings.gemini_base_url, policy=policy
    )
    images: ImageStore
    if settings.supabase_url and settings.supabase_service_role_key is not None:
        from shared.image_store import SupabaseStorageStore

        key = settings.supabase_service_role_key
        images = SupabaseStorageStore(settings.supabase_url, key, settings.supabase_bucket, policy=policy)
    else:
        images = LocalFolderStore(settings.image_dir)
    return ContentWriter(text=text, image=image, images=images)


def build_runtime(settings: Settings | None = None, *, clock: Clock | None = None) -> Runtime:
    settings = settings or Settings()
    url, embedded = database_url(settings)
    auto_migrate = settings.auto_migrate if settings.auto_migrate is not None else embedded is not None
    if auto_migrate:
        migrate(url, settings.migrations_dir)
    return Runtime(
        settings=settings,
        db=Database(url, max_size=settings.db_pool_max, options=settings.db_options),
        clock=clock or SystemClock(),
        space=ActionSpace.load(settings.action_space_path),
        params=settings.policy_params(),
        reward_config=settings.reward_config(),
        tasks=OutboxOnly(),
        embedder=load_embedder(settings.embedder),
        embedded=embedded,
        content=build_content(settings),
    )


_lock = Lock()
_runtime: Runtime | None = None


def get_runtime() -> Runtime:
    """The instance's runtime, built on first use (not at import: cold starts stay cheap)."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = build_runtime()
        return _runtime


def use_runtime(runtime: Runtime | None) -> None:
    """Install a runtime built elsewhere (a simulation with its own clock, a test)."""
    global _runtime
    with _lock:
        _runtime = runtime
