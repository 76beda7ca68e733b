resource "google_cloud_scheduler_job" "job" {
  for_each  = local.scheduler_jobs
  name      = each.key
  region    = var.region
  schedule  = each.value.schedule
  time_zone = "Etc/UTC"

  attempt_deadline = "320s"
  retry_config {
    retry_count = 3
  }

  http_target {
    http_method = "POST"
    uri         = local.function_url[each.value.function]
    body        = base64encode(each.value.body)
    headers = {
      "Content-Type" = "application/json"
    }
    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = local.function_url[each.value.function]
    }
  }
}
