locals {
  # Gen2 functions answer on this deterministic address too, so no function
  # depends on another's resource (the URLs go into each other's settings).
  function_url = { for name in keys(local.functions) : name => "https://${var.region}-${var.project_id}.cloudfunctions.net/${name}" }

  # name => entry point and memory. Every entry point of main.py, no other. Memory from the
  # peaks `make bench` measures (docs/performance.md, sections 4 and 5): generate_post embeds
  # topics (MiniLM, 326 MB); compute_reward's sweep runs the off-policy evaluation (about
  # 205 MB); the others peak under 90 MB. Memory also sets the CPU share (256Mi: a sixth of a
  # vCPU, 512Mi: a third), so update_policy (learning runs under one lock: its speed is the
  # deployment's learning throughput) and report (a person waits) keep 512Mi; record_snapshot,
  # the busiest and lightest, scales out instead (docs/decisions.md item 63); review_post, a
  # person's click on a draft, is two statements (docs/review.md); save_profile embeds the
  # profile's text (MiniLM, as generate_post); read_business reads a page of posts.
  functions = {
    generate_post   = { entry_point = "generate_post", memory = "512Mi" }
    record_snapshot = { entry_point = "record_snapshot", memory = "256Mi" }
    compute_reward  = { entry_point = "compute_reward", memory = "512Mi" }
    update_policy   = { entry_point = "update_policy", memory = "512Mi" }
    report          = { entry_point = "report", memory = "512Mi" }
    review_post     = { entry_point = "review_post", memory = "256Mi" }
    save_profile    = { entry_point = "save_profile", memory = "512Mi" }
    read_business   = { entry_point = "read_business", memory = "256Mi" }
  }

  # The functions that create Cloud Tasks (a publication's reward task, a reward's update
  # task, the sweep's re-dispatch); a test checks this against the code.
  task_creators = ["generate_post", "record_snapshot", "compute_reward"]

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
    OIDC_SERVICE_ACCOUNTS = "${google_service_account.tasks.email},${google_service_account.scheduler.email}"
    SUPABASE_JWKS_URL     = "${var.supabase_url}/auth/v1/.well-known/jwks.json"
    SUPABASE_JWT_ISSUER   = "${var.supabase_url}/auth/v1"
    SUPABASE_URL          = var.supabase_url
  }

  # Per function, over the shared settings: the dashboard's Google callers are people (the
  # operators), not the tasks and scheduler accounts.
  function_environment = {
    report = { OIDC_SERVICE_ACCOUNTS = join(",", var.operator_emails) }
  }

  # Secret Manager secret id => the setting it fills and the functions that read it. Only
  # the database URL is required (Terraform writes its version from var.database_url, so the
  # functions deploy in the same apply); an optional secret is mounted once it is listed in
  # var.configured_secrets, after its value was added (Secret Manager refuses empty values,
  # and an unmounted key means "not configured": no xAI key, offline captions).
  secrets = {
    learner-database-url              = { setting = "DATABASE_URL", functions = keys(local.functions), required = true }
    learner-webhook-secret            = { setting = "WEBHOOK_SECRET", functions = ["record_snapshot"], required = false }
    learner-webhook-secret-previous   = { setting = "WEBHOOK_SECRET_PREVIOUS", functions = ["record_snapshot"], required = false }
    learner-xai-api-key               = { setting = "XAI_API_KEY", functions = ["generate_post"], required = false }
    learner-gemini-api-key            = { setting = "GEMINI_API_KEY", functions = ["generate_post"], required = false }
    learner-supabase-service-role-key = { setting = "SUPABASE_SERVICE_ROLE_KEY", functions = ["generate_post"], required = false }
  }

  # (function, secret) pairs: what each function may read, and what it mounts.
  secret_readers = merge([
    for id, s in local.secrets : { for fn in s.functions : "${fn}/${id}" => { function = fn, secret = id } }
  ]...)
  secret_mounts = {
    for key, pair in local.secret_readers : key => pair
    if local.secrets[pair.secret].required || contains(var.configured_secrets, pair.secret)
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
