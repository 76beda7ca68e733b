"""Builds the runtime (database, clock, task sink, configuration) once per instance."""

from __future__ import annotations

from dataclasses import dataclass, field
from threading import Lock

from shared.auth import Authenticator
from shared.clock import Clock, SystemClock
from shared.config import Settings
from shared.content_writer import ContentWriter
from shared.core.action_space import ActionSpace
from shared.core.embedding import Embedder
from shared.core.policy import PolicyParams, baseline_action
from shared.core.rate_limits import RateLimits
from shared.core.reward import RewardConfig
from shared.core.tasks import OutboxOnly, TaskSink
from shared.image_store import ImageStore, LocalFolderStore
from shared.minilm import LazyEmbedder
from shared.store.db import Database
from shared.store.embedded import EmbeddedPostgres, start_embedded
from shared.store.migrate import check_schema, migrate
from shared.tasks.cloud import CloudTasksTarget, CloudTasksTransport, OutboxRelay


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock
    space: ActionSpace
    params: PolicyParams
    reward_config: RewardConfig
    tasks: TaskSink
    auth: Authenticator
    embedders: LazyEmbedder = field(default_factory=lambda: LazyEmbedder("none"))
    embedded: EmbeddedPostgres | None = None
    content: ContentWriter | None = None  # None: the offline generator, stored with the decision
    limits: RateLimits = field(default_factory=RateLimits)

    @property
    def embedder(self) -> Embedder | None:
        """The configured embedder, loaded on first use (a runtime copied with ``replace`` shares it)."""
        return self.embedders.get()

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


def cloud_tasks_client(settings: Settings) -> object:
    """A Cloud Tasks client: the real API, or the emulator over an insecure channel."""
    from google.cloud import tasks_v2

    if settings.cloud_tasks_emulator:
        import grpc
        from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

        channel = grpc.insecure_channel(settings.cloud_tasks_emulator)
        return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
    return tasks_v2.CloudTasksClient()


def task_sink(settings: Settings, db: Database) -> TaskSink:
    if settings.task_dispatch == "local":
        return OutboxOnly()
    missing = [
        name
        for name in ("gcp_project", "gcp_location", "url_compute_reward", "url_update_policy")
        if not getattr(settings, name)
    ]
    if missing:
        raise ValueError(f"task_dispatch=cloud_tasks needs settings: {', '.join(missing)}")
    transport = CloudTasksTransport(
        cloud_tasks_client(settings),
        project=str(settings.gcp_project),
        location=str(settings.gcp_location),
        targets={
            "compute_reward": CloudTasksTarget(settings.queue_compute_reward, str(settings.url_compute_reward)),
            "update_policy": CloudTasksTarget(settings.queue_update_policy, str(settings.url_update_policy)),
        },
        service_account=settings.tasks_service_account,
    )
    return OutboxRelay(db, transport)


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
    else:
        check_schema(url)  # an empty database fails here, in one line, not at its first query
    space = ActionSpace.load(settings.action_space_path)
    params = settings.policy_params()
    baseline_action(space, params.holdback_action)  # a holdback action outside the space fails here, at start
    db = Database(url, max_size=settings.db_pool_max, options=settings.db_options)
    return Runtime(
        settings=settings,
        db=db,
        clock=clock or SystemClock(),
        space=space,
        params=params,
        reward_config=settings.reward_config(),
        tasks=task_sink(settings, db),
        auth=Authenticator(settings.auth_config()),
        embedders=LazyEmbedder(settings.embedder),
        embedded=embedded,
        content=build_content(settings),
        limits=settings.rate_limits(),
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
