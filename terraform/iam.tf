# One service account per function (it reads its secrets and nothing else),
# one for Cloud Tasks and one for Cloud Scheduler (they may invoke, nothing else).
resource "google_service_account" "function" {
  for_each     = local.functions
  account_id   = "fn-${replace(each.key, "_", "-")}"
  display_name = "Function ${each.key}"
}

resource "google_service_account" "tasks" {
  account_id   = "learner-tasks"
  display_name = "Cloud Tasks caller of compute_reward and update_policy"
}

resource "google_service_account" "scheduler" {
  account_id   = "learner-scheduler"
  display_name = "Cloud Scheduler caller of the sweep"
}

# Functions that create tasks (local.task_creators) may act as the tasks account (to mint
# its OIDC token) and enqueue into the two queues; update_policy and report may not.
resource "google_service_account_iam_member" "function_acts_as_tasks" {
  for_each           = toset(local.task_creators)
  service_account_id = google_service_account.tasks.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.function[each.key].email}"
}

resource "google_cloud_tasks_queue_iam_member" "enqueue_compute_reward" {
  for_each = toset(local.task_creators)
  name     = google_cloud_tasks_queue.compute_reward.id
  location = var.region
  role     = "roles/cloudtasks.enqueuer"
  member   = "serviceAccount:${google_service_account.function[each.key].email}"
}

resource "google_cloud_tasks_queue_iam_member" "enqueue_update_policy" {
  for_each = toset(local.task_creators)
  name     = google_cloud_tasks_queue.update_policy.id
  location = var.region
  role     = "roles/cloudtasks.enqueuer"
  member   = "serviceAccount:${google_service_account.function[each.key].email}"
}

# Invoker: tasks may call compute_reward and update_policy; the scheduler the sweep.
resource "google_cloud_run_service_iam_member" "tasks_invoker" {
  for_each = toset(["compute_reward", "update_policy"])
  location = var.region
  service  = google_cloudfunctions2_function.fn[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.tasks.email}"
}

resource "google_cloud_run_service_iam_member" "scheduler_invoker" {
  location = var.region
  service  = google_cloudfunctions2_function.fn["compute_reward"].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

# Client apps (Supabase JWT) and the database webhook (shared secret) reach generate_post,
# record_snapshot, review_post, save_profile and read_business without a Google identity, and
# business owners (Supabase JWT) and operators (Google ID token, var.operator_emails) the
# dashboard: the function verifies them itself.
resource "google_cloud_run_service_iam_member" "public_invoker" {
  for_each = toset(["generate_post", "record_snapshot", "review_post", "save_profile", "read_business", "report"])
  location = var.region
  service  = google_cloudfunctions2_function.fn[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}
