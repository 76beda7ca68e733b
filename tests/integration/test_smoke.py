def test_generate_post_answers_201_with_a_logged_decision(runtime, functions, make_profile):
    bid = make_profile()
    status, body = functions.post(
        "generate_post", {"business_id": str(bid), "request_id": "r1", "platform": "x", "topic": "AI"}
    )
    assert status == 201
    assert body["status"] == "generated"
