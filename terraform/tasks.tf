# One queue per task kind. Retries back off; a task that keeps failing stops
# after max_attempts, and the sweep re-settles what it left behind.
resource "google_cloud_tasks_queue" "compute_reward" {
  name     = "compute-reward"
  location = var.region

  rate_limits {
    max_dispatches_per_second = 50
    max_concurrent_dispatches = 20
  }

  retry_config {
    max_attempts       = var.tasks_max_attempts
    min_backoff        = "5s"
    max_backoff        = "600s"
    max_doublings      = 5
    max_retry_duration = "86400s"
  }
}

resource "google_cloud_tasks_queue" "update_policy" {
  name     = "update-policy"
  location = var.region

  rate_limits {
    max_dispatches_per_second = 50
    max_concurrent_dispatches = 10
  }

  retry_config {
    max_attempts       = var.tasks_max_attempts
    min_backoff        = "2s"
    max_backoff        = "300s"
    max_doublings      = 5
    max_retry_duration = "86400s"
  }
}
