"""The Cloud Scheduler jobs, built with the google-cloud-scheduler client.

For users without Terraform: ``python -m deploy.scheduler_jobs --project P
--region R --service-account SA`` prints the jobs; ``--apply`` creates or
updates them. terraform/scheduler.tf defines the same jobs, and a test
compares the two.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

DEFAULT_SCHEDULE = "*/15 * * * *"
TIME_ZONE = "Etc/UTC"
ATTEMPT_DEADLINE_SECONDS = 320
RETRY_COUNT = 3


@dataclass(frozen=True)
class JobSpec:
    name: str
    function: str  # the function the job POSTs to
    body: str  # JSON


JOBS = (JobSpec(name="learner-sweep", function="compute_reward", body='{"sweep": true}'),)


def function_url(project: str, region: str, function: str) -> str:
    return f"https://{region}-{project}.cloudfunctions.net/{function}"


def build_jobs(
    project: str,
    region: str,
    service_account: str,
    *,
    schedule: str = DEFAULT_SCHEDULE,
) -> list[Any]:
    """scheduler_v1.Job objects, built offline (no API call). Each token's audience is the URL
    the job calls: Cloud Run's front end accepts no other."""
    from google.cloud import scheduler_v1
    from google.protobuf import duration_pb2

    jobs = []
    for spec in JOBS:
        url = function_url(project, region, spec.function)
        jobs.append(
            scheduler_v1.Job(
                name=f"projects/{project}/locations/{region}/jobs/{spec.name}",
                schedule=schedule,
                time_zone=TIME_ZONE,
                attempt_deadline=duration_pb2.Duration(seconds=ATTEMPT_DEADLINE_SECONDS),
                retry_config=scheduler_v1.RetryConfig(retry_count=RETRY_COUNT),
                http_target=scheduler_v1.HttpTarget(
                    uri=url,
                    http_method=scheduler_v1.HttpMethod.POST,
                    headers={"Content-Type": "application/json"},
                    body=spec.body.encode(),
                    oidc_token=scheduler_v1.OidcToken(service_account_email=service_account, audience=url),
                ),
            )
        )
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.scheduler_jobs", description=__doc__)
    parser.add_argument("--project", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--service-account", required=True, help="the scheduler's service account email")
    parser.add_argument("--schedule", default=DEFAULT_SCHEDULE)
    parser.add_argument("--apply", action="store_true", help="create or update the jobs (needs credentials)")
    args = parser.parse_args()
    jobs = build_jobs(args.project, args.region, args.service_account, schedule=args.schedule)
    if not args.apply:
        for job in jobs:
            print(job)
        return
    from google.api_core.exceptions import AlreadyExists
    from google.cloud import scheduler_v1

    client = scheduler_v1.CloudSchedulerClient()
    for job in jobs:
        try:
            client.create_job(parent=f"projects/{args.project}/locations/{args.region}", job=job)
            print(f"created {job.name}")
        except AlreadyExists:
            client.update_job(job=job)
            print(f"updated {job.name}")


if __name__ == "__main__":
    main()
