"""Cloud Tasks against the emulator: a reward task created for a post reaches the
running compute_reward function at its schedule time, and the loop finishes.

The emulator runs in its own venv (`make emulator`; it pins an old protobuf).
It sends no OIDC token, so the functions here run with auth disabled; the
token check itself is covered by tests/integration/test_auth.py.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shared.bootstrap import Runtime
from shared.clock import SystemClock
from shared.config import Settings
from shared.core.tasks import update_task
from shared.tasks.cloud import CloudTasksTarget, CloudTasksTransport, OutboxRelay, task_id
from tests.support import cloud as cloud_support

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with cloud_support.emulator() as address:
        yield address


ANSWERED: Counter[str] = Counter()


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    """compute_reward and update_policy served over HTTP on loopback (ANSWERED counts their answers)."""
    with cloud_support.served(("compute_reward", "update_policy"), ANSWERED) as urls:
        yield urls


@pytest.fixture
def cloud(runtime: Runtime, emulator: str, served: dict[str, str]) -> Iterator[CloudTasksTransport]:
    """The runtime on the real clock, relaying its outbox to the emulator."""
    from shared.bootstrap import cloud_tasks_client

    client = cloud_tasks_client(Settings(cloud_tasks_emulator=emulator))
    for queue in ("compute-reward", "update-policy"):
        name = client.queue_path(cloud_support.PROJECT, cloud_support.LOCATION, queue)  # type: ignore[attr-defined]
        try:
            client.create_queue(  # type: ignore[attr-defined]
                parent=f"projects/{cloud_support.PROJECT}/locations/{cloud_support.LOCATION}", queue={"name": name}
            )
        except Exception as exc:  # created by an earlier test of this module
            assert "exist" in str(exc).lower(), exc
    transport = CloudTasksTransport(
        client,
        project=cloud_support.PROJECT,
        location=cloud_support.LOCATION,
        targets={
            "compute_reward": CloudTasksTarget("compute-reward", served["compute_reward"]),
            "update_policy": CloudTasksTarget("update-policy", served["update_policy"]),
        },
        service_account=None,
    )
    old_clock, old_tasks = runtime.clock, runtime.tasks
    runtime.clock, runtime.tasks = SystemClock(), OutboxRelay(runtime.db, transport)
    yield transport
    runtime.clock, runtime.tasks = old_clock, old_tasks


def _wait(runtime: Runtime, sql: str, expected: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        with runtime.db.transaction() as conn:
            value = conn.execute(sql).fetchone()[0]  # type: ignore[index]
        if value == expected:
            return
        time.sleep(0.2)
    raise AssertionError(f"{sql!r} stayed {value!r}, expected {expected!r}")


def test_a_reward_task_reaches_compute_reward_at_its_time_and_the_loop_finishes(
    runtime, cloud, functions, make_profile
):
    business = make_profile()
    now = datetime.now(UTC)
    posted_at = now - timedelta(hours=24) + timedelta(seconds=3)  # the reward falls due in 3 s
    post_id = cloud_support.published_a_while_ago(runtime, functions, business, posted_at, "linkedin")
    for hours in (6, 24):
        status, _ = functions.post(
            "record_snapshot",
            {
                "type": "metrics",
                "post_id": post_id,
                "observed_at": (posted_at + timedelta(hours=hours)).isoformat(),
                "likes": 40 * hours,
                "comments": hours,
                "follower_count": 8000,
            },
        )
        assert status == 200
    # Dispatched after commit: the outbox row is marked, and the reward still waits.
    with runtime.db.transaction() as conn:
        row = conn.execute("select status from outbox where target = 'compute_reward'").fetchone()
        reward = conn.execute("select status, eligible_at from rewards").fetchone()
    assert row == ("dispatched",)
    assert reward[0] == "pending"

    _wait(runtime, "select version from policy_state", 1)
    with runtime.db.transaction() as conn:
        status_, computed_at, eligible_at = conn.execute(
            "select status, computed_at, eligible_at from rewards"
        ).fetchone()
        updates = conn.execute("select count(*) from policy_updates").fetchone()[0]
    assert status_ == "computed"
    assert computed_at >= eligible_at  # delivered at its schedule time, not before
    assert updates == 1


def test_duplicate_task_creation_and_duplicate_delivery_change_nothing(runtime, cloud, functions, make_profile):
    business = make_profile()
    posted_at = datetime.now(UTC) - timedelta(hours=25)
    post_id = cloud_support.published_a_while_ago(runtime, functions, business, posted_at, "x")
    functions.post(
        "record_snapshot",
        {
            "type": "metrics",
            "post_id": post_id,
            "observed_at": (posted_at + timedelta(hours=24)).isoformat(),
            "likes": 300,
            "replies": 12,
            "follower_count": 2000,
        },
    )
    _wait(runtime, "select version from policy_state", 1)

    # The same update task again: the emulator does not deduplicate names, so it is
    # delivered twice more; the function's ledger keeps the effect single.
    task = update_task(uuid.UUID(post_id), datetime.now(UTC))
    before = ANSWERED["update_policy"]
    cloud.create(task)
    cloud.create(task)
    _wait(runtime, "select count(*) from outbox", 2)
    deadline = time.monotonic() + 30
    while ANSWERED["update_policy"] < before + 2:  # both duplicates were delivered and answered
        assert time.monotonic() < deadline, ANSWERED
        time.sleep(0.05)
    with runtime.db.transaction() as conn:
        version = conn.execute("select version from policy_state").fetchone()[0]
        ledger = conn.execute("select count(*) from policy_updates").fetchone()[0]
    assert (version, ledger) == (1, 1)
    assert task_id(task.name).endswith(task.name) and len(task_id(task.name)) <= 500


def test_a_task_whose_creation_failed_stays_in_the_outbox_and_the_sweep_dispatches_it(
    runtime, cloud, functions, make_profile
):
    # Cloud Tasks unreachable at commit time: nothing listens on this port.
    from shared.bootstrap import cloud_tasks_client

    down = CloudTasksTransport(
        cloud_tasks_client(Settings(cloud_tasks_emulator=f"127.0.0.1:{cloud_support.free_port()}")),
        project=cloud_support.PROJECT,
        location=cloud_support.LOCATION,
        targets=cloud.targets,
        service_account=None,
    )
    runtime.tasks = OutboxRelay(runtime.db, down)
    business = make_profile()
    posted_at = datetime.now(UTC) - timedelta(hours=30)
    cloud_support.published_a_while_ago(runtime, functions, business, posted_at, "facebook")
    with runtime.db.transaction() as conn:
        assert conn.execute("select status from outbox").fetchall() == [("pending",)]

    # Cloud Tasks is back; the scheduled sweep re-dispatches what is stale.
    runtime.tasks = OutboxRelay(runtime.db, cloud, stale_after=timedelta(0))
    status, report = functions.post("compute_reward", {"sweep": True})
    assert status == 200 and report["redispatched"] == 1
    with runtime.db.transaction() as conn:
        assert conn.execute("select status from outbox").fetchall() == [("dispatched",)]
