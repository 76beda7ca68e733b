"""Where generated images go: Supabase Storage when configured, a local folder otherwise."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

from shared.errors import ProviderRefused
from shared.llm.retry import Retryable, RetryPolicy, redact, with_retries

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,250}$")


def check_key(key: str) -> str:
    """Object keys are ours (post id + extension); refuse anything that could climb out of a folder."""
    if not _KEY.fullmatch(key) or ".." in key:
        raise ValueError(f"invalid object key {key!r}")
    return key


class ImageStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> str:
        """Store the bytes under ``key`` (overwriting: a retry writes the same object); return its URL."""
        ...


class LocalFolderStore:
    """Images as files under ``root``; the URL is a ``file://`` URI (local runs and the simulation)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, key: str, data: bytes, content_type: str) -> str:
        path = self.root / check_key(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)  # atomic: a reader never sees half an image
        return path.resolve().as_uri()


class SupabaseStorageStore:
    """Images in a Supabase Storage bucket through the ``supabase`` client; public URL returned.

    Uploads use ``x-upsert`` so that a redelivered generation overwrites its
    own object instead of failing on a duplicate.
    """

    def __init__(
        self,
        url: str,
        service_key: SecretStr,
        bucket: str,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # Imported here: a function without Storage settings never pays for them at cold start.
        import httpx
        from supabase import ClientOptions, create_client

        self._policy = policy or RetryPolicy()
        self._key = service_key
        self._sleep = sleep
        # Our own httpx client carries the timeout (the client's timeout option is deprecated).
        http = httpx.Client(timeout=self._policy.timeout, follow_redirects=False)
        options = ClientOptions(httpx_client=http)
        self._bucket = create_client(url, service_key.get_secret_value(), options=options).storage.from_(bucket)
        self.name = "supabase-storage"

    def put(self, key: str, data: bytes, content_type: str) -> str:
        check_key(key)
        with_retries(lambda: self._upload(key, data, content_type), self._policy, provider=self.name, sleep=self._sleep)
        return str(self._bucket.get_public_url(key))

    def _upload(self, key: str, data: bytes, content_type: str) -> None:
        import httpx
        from storage3.exceptions import StorageApiError

        try:
            self._bucket.upload(key, data, {"content-type": content_type, "upsert": "true"})
        except StorageApiError as exc:
            status = int(exc.status) if str(exc.status).isdigit() else 0
            if status == 429 or status >= 500:
                raise Retryable(f"HTTP {status}") from None
            reason = redact(str(exc.message), self._key.get_secret_value())
            raise ProviderRefused(f"supabase storage refused the upload (HTTP {status}): {reason}") from None
        except httpx.TransportError as exc:
            raise Retryable(f"timeout or connection failure ({type(exc).__name__})") from None
