"""Every endpoint authenticates its caller (docs/spec.md §7), with keys minted here and
served as JWKS on loopback. Every rejection writes nothing and leaks nothing."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from shared.auth import AuthConfig, Authenticator
from shared.bootstrap import Runtime, use_runtime
from shared.config import PROJECT_ROOT
from tests.support.database import START
from tests.support.functions import state_digest
from tests.support.tokens import (
    OIDC_AUDIENCE,
    OLD_SECRET,
    SECRET,
    SUPABASE_ISS,
    TASKS_SA,
    Keys,
    bearer,
    google_token,
    user_token,
)


@pytest.fixture
def secured(runtime: Runtime, jwks_server: str) -> Iterator[Runtime]:
    config = AuthConfig(
        enforce=True,
        supabase_jwks_url=f"{jwks_server}/supabase.json",
        supabase_issuer=SUPABASE_ISS,
        google_jwks_url=f"{jwks_server}/google.json",
        oidc_audiences=(OIDC_AUDIENCE,),
        oidc_emails=(TASKS_SA,),
        webhook_secrets=(SECRET, OLD_SECRET),
    )
    rt = dataclasses.replace(runtime, auth=Authenticator(config))
    use_runtime(rt)
    yield rt
    use_runtime(runtime)


def _generate_body(business_id: uuid.UUID) -> dict[str, Any]:
    return {"business_id": str(business_id), "request_id": "auth-1", "platform": "x", "topic": "AI"}


def _none_token() -> str:
    header = jwt.utils.base64url_encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).decode()
    now = int(time.time())
    payload = {"iss": SUPABASE_ISS, "aud": "authenticated", "sub": str(uuid.uuid4()), "exp": now + 600}
    body = jwt.utils.base64url_encode(json.dumps(payload).encode()).decode()
    return f"{header}.{body}."


def _hs256_confusion(keys: Keys) -> str:
    # Signs with the public key as an HMAC secret: a classic algorithm-confusion attack.
    pem = keys.supabase.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    payload = {"iss": SUPABASE_ISS, "aud": "authenticated", "sub": "x", "role": "authenticated", "exp": now + 600}
    header = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "sb-1"}).encode())
    body = jwt.utils.base64url_encode(json.dumps(payload).encode())
    signing_input = header + b"." + body
    sig = jwt.utils.base64url_encode(hmac.new(pem, signing_input, hashlib.sha256).digest())
    return (signing_input + b"." + sig).decode()


REJECTED_USER_TOKENS: dict[str, Callable[[Keys, str], dict[str, str]]] = {
    "missing": lambda keys, owner: {},
    "not bearer": lambda keys, owner: {"Authorization": "Basic dXNlcjpwYXNz"},
    "garbage": lambda keys, owner: bearer("not-a-jwt"),
    "expired": lambda keys, owner: bearer(user_token(keys, owner, exp=int(time.time()) - 120)),
    "wrong key": lambda keys, owner: bearer(user_token(keys, owner, _key=keys.stranger)),
    "wrong audience": lambda keys, owner: bearer(user_token(keys, owner, aud="someone-else")),
    "wrong issuer": lambda keys, owner: bearer(user_token(keys, owner, iss="https://evil.test/auth/v1")),
    "alg none": lambda keys, owner: bearer(_none_token()),
    "hs256 confusion": lambda keys, owner: bearer(_hs256_confusion(keys)),
}


@pytest.mark.parametrize("case", sorted(REJECTED_USER_TOKENS))
def test_generate_post_rejects_bad_credentials_with_401_and_writes_nothing(
    secured, functions, make_profile, keys, case, capfd
):
    owner = uuid.uuid4()
    business = make_profile(owner_id=owner)
    before = state_digest(secured)
    headers = REJECTED_USER_TOKENS[case](keys, str(owner))
    status, answer = functions.post("generate_post", _generate_body(business), headers)
    assert status == 401, answer
    assert answer["error"]["code"] == "unauthorized"
    assert state_digest(secured) == before
    token = headers.get("Authorization", "").removeprefix("Bearer ")
    if len(token) > 20:
        out = capfd.readouterr()
        assert token not in out.err + out.out and token not in json.dumps(answer)


def test_a_user_acts_on_their_own_business_only(secured, functions, make_profile, keys):
    alice, bob = uuid.uuid4(), uuid.uuid4()
    alices = make_profile(owner_id=alice)
    bobs = make_profile(owner_id=bob, seed=2)
    before = state_digest(secured)
    status, answer = functions.post("generate_post", _generate_body(bobs), bearer(user_token(keys, str(alice))))
    assert status == 403 and answer["error"]["fields"][0]["path"] == "business_id"
    assert state_digest(secured) == before
    status, answer = functions.post("generate_post", _generate_body(alices), bearer(user_token(keys, str(alice))))
    assert status == 201, answer

    # Bob may not publish Alice's post either.
    published = {"type": "published", "post_id": answer["post_id"], "media_id": "m", "posted_at": START.isoformat()}
    status, _ = functions.post("record_snapshot", published, bearer(user_token(keys, str(bob))))
    assert status == 403

    # Nor review it; Alice may.
    review = {"post_id": answer["post_id"], "action": "approve"}
    status, refused = functions.post("review_post", review, bearer(user_token(keys, str(bob))))
    assert status == 403 and refused["error"]["fields"][0]["path"] == "post_id"
    status, approved = functions.post("review_post", review, bearer(user_token(keys, str(alice))))
    assert (status, approved["review"]) == (200, "approved"), approved

    # Nor read her business; Alice may.
    read = {"business_id": str(alices), "view": "posts"}
    status, refused = functions.post("read_business", read, bearer(user_token(keys, str(bob))))
    assert status == 403 and refused["error"]["fields"][0]["path"] == "business_id"
    status, page = functions.post("read_business", read, bearer(user_token(keys, str(alice))))
    assert status == 200 and [p["post_id"] for p in page["posts"]] == [answer["post_id"]], page


def test_the_dashboard_shows_an_owner_their_businesses_and_an_operator_every_one(
    secured, functions, make_profile, keys
):
    import functions_framework

    create = functions_framework.create_app  # untyped library call
    client = create(target="report", source=str(PROJECT_ROOT / "main.py")).test_client()  # type: ignore[no-untyped-call]
    alice, bob = uuid.uuid4(), uuid.uuid4()
    businesses = {}
    for owner, name, seed in ((alice, "Alice Bakery", 1), (bob, "Bob Garage", 2)):
        business = businesses[owner] = make_profile(owner_id=owner, name=name, seed=seed)
        status, _ = functions.post("generate_post", _generate_body(business), bearer(user_token(keys, str(owner))))
        assert status == 201

    def page(headers: dict[str, str]) -> str:
        resp = client.get("/", headers=headers)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return str(resp.get_data(as_text=True))

    own = page(bearer(user_token(keys, str(alice))))
    assert "Alice Bakery" in own and "Bob Garage" not in own and "1 businesses · 1 posts" in own
    everyone = page(bearer(google_token(keys)))
    assert "Alice Bakery" in everyone and "Bob Garage" in everyone and "2 businesses · 2 posts" in everyone
    assert client.get("/").status_code == 401
    assert client.get("/", headers=bearer(user_token(keys, "not-a-user-id"))).status_code == 403
    stranger = page(bearer(user_token(keys, str(uuid.uuid4()))))
    assert "Alice Bakery" not in stranger and "0 businesses · 0 posts" in stranger
    # One business's page: its owner's, or an operator's; to anyone else a 403 naming the parameter.
    hers = client.get(f"/?business={businesses[alice]}", headers=bearer(user_token(keys, str(alice))))
    assert hers.status_code == 200 and "learned: Alice Bakery</h1>" in hers.get_data(as_text=True)
    assert "All businesses" not in hers.get_data(as_text=True)  # an owner's selector has only hers
    theirs = client.get(f"/?business={businesses[alice]}", headers=bearer(google_token(keys)))
    assert theirs.status_code == 200 and "All businesses" in theirs.get_data(as_text=True)
    refused = client.get(f"/?business={businesses[alice]}", headers=bearer(user_token(keys, str(bob))))
    assert refused.status_code == 403 and refused.get_json()["error"]["fields"][0]["path"] == "business"


def test_an_anonymous_role_token_is_forbidden(secured, functions, make_profile, keys):
    owner = uuid.uuid4()
    business = make_profile(owner_id=owner)
    status, _ = functions.post(
        "generate_post", _generate_body(business), bearer(user_token(keys, str(owner), role="anon"))
    )
    assert status == 403


@pytest.mark.parametrize("target", ["compute_reward", "update_policy"])
def test_task_functions_refuse_users_and_spoofed_cloud_tasks_headers(secured, functions, make_profile, keys, target):
    owner = uuid.uuid4()
    make_profile(owner_id=owner)
    body = {"post_id": str(uuid.uuid4())}
    before = state_digest(secured)
    spoofed = {
        "X-CloudTasks-QueueName": "compute-reward",
        "X-CloudTasks-TaskName": "t",
        "X-CloudTasks-TaskRetryCount": "0",
    }
    status, _ = functions.post(target, body, spoofed)
    assert status == 401
    status, _ = functions.post(target, body, bearer(user_token(keys, str(owner))))
    assert status == 403
    status, _ = functions.post(target, body, {"X-Webhook-Secret": SECRET})
    assert status == 401
    assert state_digest(secured) == before


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({"aud": "https://other-function"}, 401),
        ({"exp": int(time.time()) - 300}, 401),
        ({"iss": "https://accounts.evil.test"}, 401),
        ({"email": "intruder@evil.iam.gserviceaccount.com"}, 403),
        ({"email_verified": False}, 403),
    ],
)
def test_google_oidc_tokens_are_checked_for_audience_expiry_and_account(secured, functions, keys, claims, status):
    before = state_digest(secured)
    code, _ = functions.post("compute_reward", {"sweep": True}, bearer(google_token(keys, **claims)))
    assert code == status
    assert state_digest(secured) == before


def test_the_tasks_service_account_may_run_the_sweep(secured, functions, keys):
    status, answer = functions.post("compute_reward", {"sweep": True}, bearer(google_token(keys)))
    assert status == 200 and answer["duplicate"] is False


@pytest.mark.parametrize(("secret", "status"), [(SECRET, 404), (OLD_SECRET, 404), ("wrong", 401), ("", 401)])
def test_the_webhook_secret_is_checked_in_constant_time_with_rotation(secured, functions, secret, status, capfd):
    notification = {
        "type": "INSERT",
        "table": "snapshots",
        "schema": "public",
        "record": {"snapshot_id": 987654, "post_id": str(uuid.uuid4())},
        "old_record": None,
    }
    code, answer = functions.post("record_snapshot", notification, {"X-Webhook-Secret": secret})
    # With a valid secret the caller is through: the unknown snapshot id is then a 404.
    assert code == status, answer
    out = capfd.readouterr()
    for sentinel in (SECRET, OLD_SECRET):
        assert sentinel not in out.err + out.out
        assert sentinel not in json.dumps(answer)


@pytest.mark.parametrize(
    "event",
    [
        {"type": "published", "media_id": "m-1", "posted_at": "2026-03-01T09:00:00+00:00"},
        {"type": "metrics", "observed_at": "2026-03-01T15:00:00+00:00", "likes": 10**12, "follower_count": 0},
        {"type": "deleted", "deleted_at": "2026-03-01T10:00:00+00:00"},
    ],
)
def test_the_webhook_secret_announces_inserted_snapshots_and_nothing_else(secured, functions, make_profile, event):
    business = make_profile()
    use_runtime(
        dataclasses.replace(secured, auth=Authenticator(dataclasses.replace(secured.auth.config, enforce=False)))
    )
    status, post = functions.post("generate_post", _generate_body(business))
    use_runtime(secured)
    assert status == 201
    before = state_digest(secured)
    code, answer = functions.post(
        "record_snapshot", {"post_id": post["post_id"], **event}, {"X-Webhook-Secret": SECRET}
    )
    assert code == 403 and answer["error"]["fields"][0]["path"] == "type", answer
    assert state_digest(secured) == before


def test_a_user_saves_profiles_they_own_and_no_one_elses(secured, functions, keys):
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    body = {"name": "Alice's Bakery", "embedding": [0.01] * 384}
    status, created = functions.post("save_profile", body, bearer(user_token(keys, alice)))
    assert (status, created["owner_id"]) == (201, alice), created
    business = created["business_id"]
    before = state_digest(secured)
    # Bob may neither update Alice's business nor give himself a business in her name.
    status, answer = functions.post(
        "save_profile", body | {"business_id": business, "name": "Bob's now"}, bearer(user_token(keys, bob))
    )
    assert status == 403 and answer["error"]["fields"][0]["path"] == "business_id", answer
    status, answer = functions.post("save_profile", body | {"owner_id": alice}, bearer(user_token(keys, bob)))
    assert status == 403 and answer["error"]["fields"][0]["path"] == "owner_id", answer
    assert state_digest(secured) == before
    # The same name is another business for Bob (ids derive from the owner and the name).
    status, bobs = functions.post("save_profile", body, bearer(user_token(keys, bob)))
    assert status == 201 and bobs["business_id"] != business
    # A service's update without owner_id keeps Alice as the owner; Alice may post for it.
    status, updated = functions.post(
        "save_profile", body | {"business_id": business, "description": "Now with coffee"}, bearer(google_token(keys))
    )
    assert (status, updated["owner_id"]) == (200, alice), updated
    generated = _generate_body(uuid.UUID(business))
    assert functions.post("generate_post", generated, bearer(user_token(keys, alice)))[0] == 201
