locals {
  # Gen2 functions answer on this deterministic address too, so no function
  # depends on another's resource (the URLs go into each other's settings).
  function_url = { for name in keys(local.functions) : name => "https://${var.region}-${var.project_id}.cloudfunctions.net/${name}" }

  # name => entry point and memory. Every entry point of main.py, no other.
  functions = {
    generate_post   = { entry_point = "generate_post", memory = "512Mi" }
    record_snapshot = { entry_point = "record_snapshot", memory = "512Mi" }
    compute_reward  = { entry_point = "compute_reward", memory = "512Mi" }
    update_policy   = { entry_point = "update_policy", memory = "512Mi" }
    report          = { entry_point = "report", memory = "512Mi" }
  }

  # Settings every function reads (names are shared/config.py's fields, upper-cased).
  environment = {
    AUTH_MODE             = "enforce"
    TASK_DISPATCH         = "cloud_tasks"
    GCP_PROJECT           = var.project_id
    GCP_LOCATION          = var.region
    QUEUE_COMPUTE_REWARD  = google_cloud_tasks_queue.compute_reward.name
    QUEUE_UPDATE_POLICY   = google_cloud_tasks_queue.update_policy.name
    URL_COMPUTE_REWARD    = local.function_url["compute_reward"]
    URL_UPDATE_POLICY     = local.function_url["update_policy"]
    TASKS_MAX_ATTEMPTS    = tostring(var.tasks_max_attempts)
    TASKS_SERVICE_ACCOUNT = google_service_account.tasks.email
    OIDC_AUDIENCE         = var.oidc_audience
    OIDC_SERVICE_ACCOUNTS = "${google_service_account.tasks.email},${google_service_account.scheduler.email}"
    SUPABASE_JWKS_URL     = "${var.supabase_url}/auth/v1/.well-known/jwks.json"
    SUPABASE_JWT_ISSUER   = "${var.supabase_url}/auth/v1"
    SUPABASE_URL          = var.supabase_url
  }

  # Secret Manager secret id => the setting it fills.
  # A secret left empty reads as "not configured" (e.g. no xAI key: offline captions).
  secrets = {
    learner-database-url              = "DATABASE_URL"
    learner-webhook-secret            = "WEBHOOK_SECRET"
    learner-webhook-secret-previous   = "WEBHOOK_SECRET_PREVIOUS"
    learner-xai-api-key               = "XAI_API_KEY"
    learner-gemini-api-key            = "GEMINI_API_KEY"
    learner-supabase-service-role-key = "SUPABASE_SERVICE_ROLE_KEY"
  }

  # The scheduled jobs: deploy/scheduler_jobs.py builds the same ones (a test compares).
  scheduler_jobs = {
    learner-sweep = {
      function = "compute_reward"
      schedule = var.sweep_schedule
      body     = "{\"sweep\": true}"
    }
  }
}
