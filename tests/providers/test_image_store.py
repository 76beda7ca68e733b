"""Image stores: Supabase Storage (loopback server speaking its REST API) and a local folder."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest
from pydantic import SecretStr

from shared.errors import ProviderRefused, ProviderUnavailable
from shared.image_store import LocalFolderStore, SupabaseStorageStore, check_key
from shared.llm.retry import RetryPolicy
from tests.support.loopback import Reply, loopback

KEY = "sb_secret_SENTINEL_4f0c2a"
FAST = RetryPolicy(attempts=3, timeout=2.0, base_delay=0.01, max_delay=0.1)
UPLOADED = {"Key": "post-images/abc.png", "Id": "7b1f"}


def store(url: str, sleeps: list[float] | None = None) -> SupabaseStorageStore:
    waits = sleeps if sleeps is not None else []
    return SupabaseStorageStore(url, SecretStr(KEY), "post-images", policy=FAST, sleep=waits.append)


def test_an_upload_goes_to_the_bucket_with_upsert_and_returns_the_public_url():
    with loopback([Reply(200, UPLOADED)]) as srv:
        url = store(srv.url).put("abc.png", b"PNGBYTES", "image/png")
    assert url == f"{srv.url}/storage/v1/object/public/post-images/abc.png"
    (seen,) = srv.requests
    assert (seen.method, seen.path) == ("POST", "/storage/v1/object/post-images/abc.png")
    assert seen.headers["authorization"] == f"Bearer {KEY}" and seen.headers["apikey"] == KEY
    assert seen.headers["x-upsert"] == "true"  # a redelivery overwrites its own object
    assert b"PNGBYTES" in seen.body and b"image/png" in seen.body


def test_a_503_is_retried_then_the_upload_succeeds():
    down = {"statusCode": "503", "error": "Unavailable", "message": "try later"}
    with loopback([Reply(503, down), Reply(200, UPLOADED)]) as srv:
        assert store(srv.url).put("abc.png", b"x", "image/png").endswith("/post-images/abc.png")
    assert len(srv.requests) == 2


def test_a_storage_that_keeps_failing_is_unavailable_after_the_bounded_attempts():
    down = {"statusCode": "500", "error": "Internal", "message": "boom"}
    with loopback([Reply(500, down)]) as srv, pytest.raises(ProviderUnavailable):
        store(srv.url).put("abc.png", b"x", "image/png")
    assert len(srv.requests) == FAST.attempts


def test_a_refused_upload_is_a_clear_error_without_the_key():
    denied = {"statusCode": "403", "error": "Unauthorized", "message": f"invalid signature for {KEY}"}
    with loopback([Reply(400, denied)]) as srv, pytest.raises(ProviderRefused) as err:
        store(srv.url).put("abc.png", b"x", "image/png")
    assert "supabase storage refused the upload (HTTP 403)" in err.value.message
    assert KEY not in err.value.message


def test_the_local_folder_store_writes_the_file_and_returns_its_file_url(tmp_path):
    url = LocalFolderStore(tmp_path / "images").put("p1.png", b"PNG", "image/png")
    path = Path(url2pathname(urlparse(url).path))
    assert url.startswith("file://") and path == (tmp_path / "images" / "p1.png").resolve()
    assert path.read_bytes() == b"PNG"
    LocalFolderStore(tmp_path / "images").put("p1.png", b"PNG2", "image/png")
    assert path.read_bytes() == b"PNG2"  # a retry overwrites, never duplicates
    assert sorted(p.name for p in path.parent.iterdir()) == ["p1.png"]


@pytest.mark.parametrize("key", ["../x.png", "/etc/passwd", "a/../../b.png", "", ".hidden", "a b.png"])
def test_keys_that_could_leave_the_folder_are_refused(key):
    with pytest.raises(ValueError):
        check_key(key)
