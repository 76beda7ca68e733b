"""review_post through HTTP on real Postgres (docs/review.md): a person approves, rejects or
edits a draft; a rejected draft is never published nor learned from; an edited caption is
kept beside the generated one and the decision records it; a business that asks for
approval publishes only approved drafts."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from tests.support.functions import (
    error_paths,
    fetch_all,
    fetch_one,
    generate,
    metrics,
    publish,
    state_digest,
)


def review(functions, post_id, action: str, caption: str | None = None, *, expect: int = 200):
    body = {"post_id": str(post_id), "action": action} | ({} if caption is None else {"caption": caption})
    status, answer = functions.post("review_post", body)
    assert status == expect, answer
    return answer


def post_columns(runtime, post_id) -> dict[str, object]:
    cols = ("status", "review", "reviewed_at", "caption", "edited_caption", "edited_at")
    row = fetch_one(runtime, f"select {', '.join(cols)} from posts where post_id = %s", UUID(post_id))
    return dict(zip(cols, row, strict=True))


def test_an_approved_draft_is_published_and_approving_again_changes_nothing(runtime, functions, clock, make_profile):
    draft = generate(functions, make_profile(), "approve-1")
    first = review(functions, draft["post_id"], "approve")
    assert (first["review"], first["changed"]) == ("approved", True)
    assert first["message"].startswith("approved")
    digest = state_digest(runtime)
    again = review(functions, draft["post_id"], "approve")
    assert (again["review"], again["changed"]) == ("approved", False)
    assert again["message"].startswith("nothing changed")
    assert state_digest(runtime) == digest
    assert post_columns(runtime, draft["post_id"])["reviewed_at"] == clock.now()
    publish(functions, draft["post_id"], clock.now())
    # Published: its review is what it was.
    answer = review(functions, draft["post_id"], "reject", expect=409)
    assert error_paths(answer) == ["post_id"]


def test_a_rejected_draft_is_never_published_and_never_learned_from(runtime, functions, clock, make_profile):
    business = make_profile()
    draft = generate(functions, business, "reject-1")
    done = review(functions, draft["post_id"], "reject")
    assert (done["review"], done["changed"]) == ("rejected", True)
    digest = state_digest(runtime)
    body = {"type": "published", "post_id": draft["post_id"], "media_id": "m", "posted_at": clock.now().isoformat()}
    status, answer = functions.post("record_snapshot", body)
    assert status == 409 and error_paths(answer) == ["post_id"], answer
    # Final: neither approved nor edited later; rejecting again is the same answer.
    assert error_paths(review(functions, draft["post_id"], "approve", expect=409)) == ["action"]
    assert error_paths(review(functions, draft["post_id"], "edit", "better words", expect=409)) == ["action"]
    assert review(functions, draft["post_id"], "reject")["changed"] is False
    assert state_digest(runtime) == digest
    assert post_columns(runtime, draft["post_id"])["status"] == "generated"
    assert fetch_all(runtime, "select 1 from rewards where post_id = %s", UUID(draft["post_id"])) == []


def test_an_edited_caption_is_kept_beside_the_generated_one_and_the_decision_records_it(
    runtime, functions, clock, make_profile
):
    business = make_profile()
    draft = generate(functions, business, "edit-1")
    generated = draft["caption"]
    assert generated
    answer = review(functions, draft["post_id"], "edit", "Our spring menu, in our own words.")
    assert (answer["caption"], answer["edited_caption"], answer["changed"]) == (
        generated,
        "Our spring menu, in our own words.",
        True,
    )
    stored = post_columns(runtime, draft["post_id"])
    assert (stored["caption"], stored["edited_caption"], stored["edited_at"]) == (
        generated,
        "Our spring menu, in our own words.",
        clock.now(),
    )
    assert stored["review"] == "none"  # an edit is not an approval
    assert fetch_one(runtime, "select edited from decisions where post_id = %s", UUID(draft["post_id"])) == (True,)
    digest = state_digest(runtime)
    assert review(functions, draft["post_id"], "edit", "Our spring menu, in our own words.")["changed"] is False
    assert state_digest(runtime) == digest
    # The replayed generate_post answers the post as generated.
    assert generate(functions, business, "edit-1", expect=(200,))["caption"] == generated


def test_an_edited_post_is_learned_from_like_any_other(runtime, functions, clock, make_profile):
    draft = generate(functions, make_profile(), "edit-learn")
    review(functions, draft["post_id"], "edit", "A person's caption.")
    start = clock.now()
    publish(functions, draft["post_id"], start)
    clock.set(start + timedelta(hours=24))
    assert metrics(functions, draft["post_id"], clock.now(), likes=40, comments=3)["reward"] == "computed"
    status, answer = functions.post("update_policy", {"post_id": draft["post_id"]})
    assert (status, answer["reason"]) == (200, "applied"), answer


def test_a_business_that_asks_for_approval_publishes_approved_drafts_only(runtime, functions, clock, make_profile):
    business = make_profile(require_approval=True)
    digest = state_digest(runtime)
    body = {"business_id": str(business), "request_id": "auto", "platform": "x", "topic": "AI", "auto_publish": True}
    status, answer = functions.post("generate_post", body)
    assert status == 409 and error_paths(answer) == ["auto_publish"], answer
    assert state_digest(runtime) == digest
    draft = generate(functions, business, "needs-approval")
    body = {"type": "published", "post_id": draft["post_id"], "media_id": "m", "posted_at": clock.now().isoformat()}
    status, answer = functions.post("record_snapshot", body)
    assert status == 409 and "approved" in answer["error"]["message"], answer
    review(functions, draft["post_id"], "edit", "Edited, still not approved.")
    assert functions.post("record_snapshot", body)[0] == 409
    review(functions, draft["post_id"], "approve")
    assert publish(functions, draft["post_id"], clock.now())["changed"] is True


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"action": "edit"}, "caption"),
        ({"action": "approve", "caption": "words"}, "caption"),
        ({"action": "edit", "caption": ""}, "caption"),
        ({"action": "publish"}, "action"),
        ({"action": "edit", "caption": "a" * 5001}, "caption"),
    ],
)
def test_a_bad_review_is_a_400_naming_the_field_and_changes_nothing(runtime, functions, make_profile, body, path):
    draft = generate(functions, make_profile(), "bad-review")
    digest = state_digest(runtime)
    status, answer = functions.post("review_post", {"post_id": draft["post_id"], **body})
    assert status == 400 and error_paths(answer) == [path], answer
    assert state_digest(runtime) == digest


def test_an_unknown_post_is_a_404(runtime, functions):
    answer = review(functions, "00000000-0000-4000-8000-000000000001", "approve", expect=404)
    assert error_paths(answer) == ["post_id"]
